"""What the bench scripts share."""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def add_binary_argument(parser):
    parser.add_argument("--buildscope", help="a buildscope binary to measure (default: build this tree's)")


def buildscope_binary(given):
    """The binary given with --buildscope, else this tree's, built in release."""
    if given:
        return given
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "buildscope"], cwd=ROOT, check=True)
    return os.path.join(ROOT, "target", "release", "buildscope")
