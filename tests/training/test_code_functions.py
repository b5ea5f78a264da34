from training.code_functions import functions

PY = '''import os

def top(a):
    def inner(b):
        return b
    return inner(a)

class K:
    async def method(self):
        await x()
'''

GO = '''package main

func Add(a, b int) int {
\treturn a + b
}

func (s *Server) Serve() error {
\tif s == nil { return nil }
\tmsg := "}{"
\treturn fmt.Errorf(`raw } brace`)
}
'''

C = '''#include <stdio.h>
static int square(int x) {
    if (x > 0) { return x * x; }
    return 0; /* } not a brace */
}
struct point { int x; };
char brace(void) { return '}'; }
'''

JS = '''export function f(a) {
  return { a: a };
}
async function g() { return "}"; }
'''


def test_python_functions_come_from_the_parser_with_nested_and_async_ones():
    found = functions(PY, "python")
    assert sorted(f.split("(")[0].strip() for f in found) == ["async def method", "def inner", "def top"]
    assert functions("def broken(:\n", "python") == []


def test_brace_languages_run_to_the_matching_brace_past_strings_and_comments():
    go = functions(GO, "go")
    assert len(go) == 2 and go[1].endswith("raw } brace`)\n}")
    c = functions(C, "c")
    assert len(c) == 2 and c[0].startswith("static int square") and c[0].endswith("return 0; /* } not a brace */\n}")
    assert c[1] == "char brace(void) { return '}'; }"
    assert [f.split("(")[0] for f in functions(JS, "javascript")] == ["export function f", "async function g"]


def test_languages_without_a_rule_and_unbalanced_files_give_no_functions():
    assert functions("fn main() { }", "haskell") == []
    assert functions("func open() {\n\tno end", "go") == []
