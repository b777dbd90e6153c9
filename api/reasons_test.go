package api

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestGstatManPageDocumentsEveryReason keeps the REASONS section of
// man/gstat.1 in step with the reason codes declared in job.go.
func TestGstatManPageDocumentsEveryReason(t *testing.T) {
	b, err := os.ReadFile("../man/gstat.1")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), ".SH REASONS\n")
	if !ok {
		t.Fatal("man/gstat.1 has no REASONS section")
	}
	section, _, _ = strings.Cut(section, "\n.SH ")
	documented := map[string]bool{}
	for line := range strings.SplitSeq(section, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && (f[0] == ".B" || f[0] == ".BR") {
			documented[strings.Trim(f[1], `",`)] = true
		}
	}
	codes := reasonCodes(t)
	if len(codes) < 20 {
		t.Fatalf("found %d reason codes in job.go; the parsing is wrong", len(codes))
	}
	for name, code := range codes {
		// Never set: a submission with a bad specification is refused,
		// not stored.
		if name == "ReasonInvalid" {
			continue
		}
		if !documented[code] {
			t.Errorf("man/gstat.1 REASONS does not document %s (%s)", code, name)
		}
	}
}

// reasonCodes returns the Reason* string constants of job.go by name.
func reasonCodes(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "job.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			v := spec.(*ast.ValueSpec)
			for i, n := range v.Names {
				if !strings.HasPrefix(n.Name, "Reason") || i >= len(v.Values) {
					continue
				}
				if lit, ok := v.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					codes[n.Name], _ = strconv.Unquote(lit.Value)
				}
			}
		}
	}
	return codes
}
