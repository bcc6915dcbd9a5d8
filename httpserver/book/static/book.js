// Opened from a folder (file://), a browser refuses the search page's fetch() of each
// result's page for its summary: list the results without summaries there. On a web
// server (GitHub Pages) the summaries show.
if (location.protocol === "file:" && typeof DOCUMENTATION_OPTIONS !== "undefined") {
  DOCUMENTATION_OPTIONS.SHOW_SEARCH_SUMMARY = false;
}
