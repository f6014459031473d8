#!/usr/bin/python3
"""Runs a command and reports its peak resident set size.

    peakrss.py OUT ERR -- COMMAND [ARG...]

COMMAND's stdout goes to the file OUT and its stderr to ERR ("-" keeps
ours). Prints "peak_rss_kib=N status=S seconds=T" on stdout: N is the
child's own ru_maxrss from wait4(2), so nothing else is counted. Exit
status: COMMAND's, or 2 for usage.
"""
import os
import sys
import time


def main(argv):
    if len(argv) < 5 or argv[3] != "--":
        sys.stderr.write(__doc__)
        return 2
    out, err, cmd = argv[1], argv[2], argv[4:]
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            if out != "-":
                fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(fd, 1)
            if err != "-":
                fd = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(fd, 2)
            os.execv(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    print("peak_rss_kib=%d status=%d seconds=%.1f"
          % (ru.ru_maxrss, code, time.monotonic() - t0))
    return code if code >= 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
