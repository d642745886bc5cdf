"""What the bench scripts share."""
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def add_binary_argument(parser):
    parser.add_argument("--buildscope", help="a buildscope binary to measure (default: build this tree's)")


def buildscope_binary(given):
    """The binary given with --buildscope, else this tree's, built in release."""
    if given:
        return given
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "buildscope"], cwd=ROOT, check=True)
    return os.path.join(ROOT, "target", "release", "buildscope")


def timed(cmd, cwd, env):
    """(wall seconds, stdout) of a command that must succeed (else its stderr's end, and exit)."""
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{done.stderr.decode(errors='replace')[-3000:]}")
    return wall, done.stdout
