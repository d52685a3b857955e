package transports

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/textproto"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestHeaderKeysCanonical checks every set(h, key, …) call of the package:
// set skips Header.Set's canonicalization, so a key not in canonical form
// would be written beside the canonical one a middleware sets.
func TestHeaderKeysCanonical(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	calls := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "set" || len(call.Args) != 3 {
				return true
			}
			calls++
			lit, ok := call.Args[1].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: set with a key that is not a string literal", fset.Position(call.Pos()))
				return true
			}
			key, _ := strconv.Unquote(lit.Value)
			if c := textproto.CanonicalMIMEHeaderKey(key); c != key {
				t.Errorf("%s: set(%q): not canonical, want %q", fset.Position(call.Pos()), key, c)
			}
			return true
		})
	}
	if calls < 10 {
		t.Fatalf("found %d set calls; the test no longer sees them", calls)
	}
}
