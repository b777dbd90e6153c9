package cli

import (
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
