"""`python -m httpserver.stages`: run the stages against a server program.

    python -m httpserver.stages --cmd "python my_server.py --port {port} --root {root} --directory {directory}"
    python -m httpserver.stages --cmd "..." --upto 4        # chapters 01-04
    python -m httpserver.stages --cmd "..." --stage 04-traversal --stage 06
    python -m httpserver.stages --list

{port}, {root} and {directory} in the command are replaced by a free port and
fresh folders; for the TLS stages the tester appends --certfile F --keyfile F.
Exit status: 0 when every selected stage passed, 1 when one failed, 2 for a
usage error.
"""

import argparse
import sys

from . import STAGES, run_stages, select_stages


def parse_arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m httpserver.stages",
                                     description="Check an HTTP/1.1 server stage by stage, as a black box.")
    parser.add_argument("--cmd", help="the command that starts the server; must contain {port}, "
                                      "may contain {root} and {directory}")
    parser.add_argument("--upto", type=int, metavar="NN", help="run the stages of chapters up to NN")
    parser.add_argument("--stage", action="append", metavar="NAME",
                        help="run only this stage (a name like 04-traversal, or a chapter like 04); repeatable")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for each answer (default 5)")
    parser.add_argument("--list", action="store_true", help="list the stages and exit")
    arguments = parser.parse_args(argv)
    if not arguments.list and not arguments.cmd:
        parser.error("--cmd is required (or --list)")
    return arguments, parser


def main(argv=None):
    arguments, parser = parse_arguments(argv)
    try:
        chosen = select_stages(arguments.upto, arguments.stage)
    except ValueError as error:
        parser.error(str(error))
    if arguments.list:
        for stage in chosen if (arguments.upto or arguments.stage) else STAGES:
            print(f"{stage.name:<24} {stage.title}\n{'':<24} {stage.rule}")
        return 0
    report = run_stages(arguments.cmd, upto=arguments.upto, names=arguments.stage, timeout=arguments.timeout)
    print(report.summary())
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
