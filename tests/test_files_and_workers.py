"""Unit tests for two decisions made per platform: how an upload lands, how workers share a port."""

import os

import pytest

from httpserver import files, workers


def finished_upload(folder, data):
    temporary = folder / ".upload-test.part"
    temporary.write_bytes(data)
    return str(temporary)


def test_land_creates_with_a_link_and_replaces_an_existing_file(tmp_path):
    target = str(tmp_path / "a.txt")
    assert files.land(finished_upload(tmp_path, b"first"), target) is True
    assert files.land(finished_upload(tmp_path, b"second"), target) is False
    assert open(target, "rb").read() == b"second"


def test_land_without_hard_links_asks_first(tmp_path, monkeypatch):
    # Some file systems (FAT, some network shares) have no hard links: os.link fails.
    def no_links(source, destination):
        raise PermissionError(1, "hard links not supported")

    monkeypatch.setattr(files.os, "link", no_links)
    target = str(tmp_path / "b.txt")
    assert files.land(finished_upload(tmp_path, b"first"), target) is True
    assert files.land(finished_upload(tmp_path, b"second"), target) is False
    assert open(target, "rb").read() == b"second"
    assert sorted(os.listdir(tmp_path)) == ["b.txt"]  # renamed, not left behind


@pytest.mark.parametrize("platform, os_name, method", [
    ("linux", "posix", "reuse-port"),  # the kernel spreads connections among SO_REUSEPORT sockets
    ("darwin", "posix", "inherit"),  # macOS's SO_REUSEPORT does not: share one socket instead
    ("freebsd14", "posix", "inherit"),
    ("win32", "nt", None),  # neither: one process
])
def test_how_workers_share_the_port(monkeypatch, platform, os_name, method):
    monkeypatch.setattr(workers.sys, "platform", platform)
    monkeypatch.setattr(workers.os, "name", os_name)
    assert workers.sharing_method() == method
