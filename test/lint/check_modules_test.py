#!/usr/bin/python3
"""scripts/check-modules on small made-up trees: it must fail on each kind of drift it exists to
catch (an undeclared cross-module include, a cycle, a public header no other module uses) and
pass on a tree without any, so the check of the real tree cannot pass by finding nothing."""
import pathlib
import subprocess
import sys
import tempfile

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "check-modules"


def make_tree(root, cmake, files):
    (root / "CMakeLists.txt").write_text(cmake)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def run(cmake, files):
    with tempfile.TemporaryDirectory() as tmp:
        make_tree(pathlib.Path(tmp), cmake, files)
        done = subprocess.run([sys.executable, str(SCRIPT), tmp], capture_output=True, text=True,
                              timeout=30)
        return done.returncode, done.stdout


GOOD_CMAKE = """
mgw_add_module(low)
mgw_add_module(high DEPENDS mgw_low fmt::fmt)
add_executable(metrics-gateway src/main.cpp)
target_link_libraries(metrics-gateway PRIVATE mgw_high)
"""
GOOD_FILES = {
    "include/mgw/low/api.hpp": "#pragma once\n",
    "src/low/api.cpp": '#include <mgw/low/api.hpp>\n#include "internal.hpp"\n',
    "src/low/internal.hpp": "#pragma once\n",
    "include/mgw/high/service.hpp": "#pragma once\n#include <mgw/low/api.hpp>\n",
    "src/high/service.cpp": "#include <mgw/high/service.hpp>\n#include <mgw/low/api.hpp>\n",
    "src/main.cpp": "#include <mgw/high/service.hpp>\n",
}


def expect(condition, message):
    if not condition:
        print("FAILED:", message)
        sys.exit(1)


def main():
    code, out = run(GOOD_CMAKE, GOOD_FILES)
    expect(code == 0, f"a consistent tree passes (exit {code}):\n{out}")

    undeclared = dict(GOOD_FILES)
    undeclared["src/low/api.cpp"] += "#include <mgw/high/service.hpp>\n"
    code, out = run(GOOD_CMAKE, undeclared)
    expect(code == 1 and "src/low/api.cpp:3: includes <mgw/high/service.hpp> but mgw_low does "
           "not declare mgw_high" in out, f"an undeclared include is found:\n{out}")

    code, out = run(GOOD_CMAKE.replace("mgw_add_module(low)", "mgw_add_module(low DEPENDS mgw_high)"),
                    GOOD_FILES)
    expect(code == 1 and "cycle: high -> low -> high" in out, f"a cycle is found:\n{out}")

    unused = dict(GOOD_FILES)
    unused["include/mgw/low/detail.hpp"] = "#pragma once\n"
    unused["src/low/api.cpp"] += "#include <mgw/low/detail.hpp>\n"
    code, out = run(GOOD_CMAKE, unused)
    expect(code == 1 and "include/mgw/low/detail.hpp: no other module uses it" in out,
           f"a header only its own module uses is found:\n{out}")

    reached = dict(unused)
    reached["include/mgw/low/api.hpp"] += "#include <mgw/low/detail.hpp>\n"
    code, out = run(GOOD_CMAKE, reached)
    expect(code == 0, f"a header reached through another module's public include passes:\n{out}")

    main_unlinked = dict(GOOD_FILES)
    main_unlinked["src/main.cpp"] += "#include <mgw/low/api.hpp>\n"
    code, out = run(GOOD_CMAKE, main_unlinked)
    expect(code == 1 and "src/main.cpp:2: includes <mgw/low/api.hpp> but metrics-gateway does "
           "not link mgw_low" in out, f"main's includes are held to what it links:\n{out}")
    print("check-modules: 6 trees judged as expected")


if __name__ == "__main__":
    main()
