#!/usr/bin/env python3
"""The declared rust-version must be at least the highest one in the locked
dependency graph: otherwise a user on the declared toolchain cannot build.

Reads `cargo metadata` (all features, every target), keeps the packages the
resolver actually reached, and fails naming the packages that need more than
what the workspace declares."""
import json
import subprocess
import sys


def version(text):
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


metadata = json.loads(
    subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--all-features"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
)
reached = {node["id"] for node in metadata["resolve"]["nodes"]}
members = set(metadata["workspace_members"])
declared = {}
needed = []
for package in metadata["packages"]:
    rust_version = package.get("rust_version")
    if not rust_version:
        continue
    if package["id"] in members:
        declared[package["name"]] = rust_version
    elif package["id"] in reached:
        needed.append((version(rust_version), package["name"], rust_version))

highest = max(needed)
lowest_declared = min(declared.values(), key=version)
print(f"declared rust-version: {lowest_declared}; highest in the dependency graph: "
      f"{highest[2]} ({', '.join(name for v, name, _ in needed if v == highest[0])})")
if version(lowest_declared) < highest[0]:
    too_new = sorted({f"{name} {rv}" for v, name, rv in needed if v > version(lowest_declared)})
    print(f"rust-version {lowest_declared} is too low; these need more: {', '.join(too_new)}",
          file=sys.stderr)
    sys.exit(1)
