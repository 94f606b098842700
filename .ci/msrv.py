#!/usr/bin/env python3
"""Each workspace member's declared rust-version must be at least the highest
one among the packages it depends on: otherwise a user on the declared
toolchain cannot build it.

Reads `cargo metadata` (all features, every target) and walks each member's
normal and build dependencies, transitively, through the resolved graph.
Dev-dependencies are left out: building a crate does not build them. Members
that declare no rust-version promise nothing and are only listed. Fails
naming each member and the packages that need more than it declares."""
import json
import subprocess
import sys


def version(text):
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def show(parsed):
    return ".".join(map(str, parsed if parsed[2] else parsed[:2]))


metadata = json.loads(
    subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--all-features"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
)
packages = {package["id"]: package for package in metadata["packages"]}
# What each package needs built: every dependency but the dev-only ones.
needs = {
    node["id"]: [
        dep["pkg"]
        for dep in node["deps"]
        if any(kind["kind"] != "dev" for kind in dep["dep_kinds"])
    ]
    for node in metadata["resolve"]["nodes"]
}


def dependencies(member):
    seen, todo = set(), list(needs[member])
    while todo:
        package = todo.pop()
        if package not in seen:
            seen.add(package)
            todo.extend(needs[package])
    return [packages[package] for package in seen]


def names(listed, most=4):
    listed = sorted(listed)
    more = f" and {len(listed) - most} more" if len(listed) > most else ""
    return ", ".join(listed[:most]) + more


failures = []
for member in sorted(metadata["workspace_members"], key=lambda package: packages[package]["name"]):
    name, declared = packages[member]["name"], packages[member].get("rust_version")
    required = [(version(p["rust_version"]), p["name"])
                for p in dependencies(member) if p.get("rust_version")]
    highest = max(required, default=None)
    if highest:
        by = names({n for v, n in required if v == highest[0]})
        needed = f"its dependencies need up to {show(highest[0])} ({by})"
    else:
        needed = "no dependency declares one"
    if not declared:
        print(f"{name}: declares no rust-version; {needed}")
        continue
    print(f"{name} {declared}: {needed}")
    too_new = sorted({f"{n} {show(v)}" for v, n in required if v > version(declared)})
    if too_new:
        failures.append(f"{name} declares rust-version {declared}, "
                        f"but these need more: {', '.join(too_new)}")
sys.stdout.flush()
for failure in failures:
    print(failure, file=sys.stderr)
sys.exit(1 if failures else 0)
