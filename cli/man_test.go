package cli

import (
	"context"
	"os"
	"strings"
	"testing"

	ucli "github.com/urfave/cli/v2"
)

// TestManPagesDocumentEveryFlag keeps man/*.1 in step with the commands.
func TestManPagesDocumentEveryFlag(t *testing.T) {
	for page, flags := range map[string][]ucli.Flag{
		"gsub.1": gsubFlags(), "gstat.1": gstatFlags(), "gdel.1": gdelFlags(), "gctl.1": {&ucli.BoolFlag{Name: "help"}},
	} {
		b, err := os.ReadFile("../man/" + page)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(b), `\-`, "-")
		for _, f := range flags {
			name := f.Names()[0]
			dash := "-"
			if len(name) > 1 && (name == "image" || name == "volume" || name == "root" || name == "help" || name == "json") {
				dash = "--"
			}
			if !strings.Contains(text, dash+name) {
				t.Errorf("man/%s does not document %s%s", page, dash, name)
			}
		}
	}
}

// TestGctlManPageDocumentsEverySubcommand: every gctl subcommand and each
// of its options has its place in man/gctl.1.
func TestGctlManPageDocumentsEverySubcommand(t *testing.T) {
	b, err := os.ReadFile("../man/gctl.1")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(b), `\-`, "-")
	var walk func(path string, cmds []*ucli.Command)
	walk = func(path string, cmds []*ucli.Command) {
		for _, c := range cmds {
			name := strings.TrimSpace(path + " " + c.Name)
			if !strings.Contains(text, "gctl "+name) {
				t.Errorf("man/gctl.1 does not document gctl %s", name)
			}
			for _, f := range c.Flags {
				for _, n := range f.Names() {
					dash := "--"
					if len(n) == 1 {
						dash = "-"
					}
					if !strings.Contains(text, dash+n) {
						t.Errorf("man/gctl.1 does not document gctl %s %s%s", name, dash, n)
					}
				}
			}
			walk(name, c.Subcommands)
		}
	}
	walk("", gctlCommands(context.Background(), newFake("a"), nil, nil))
}
