package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"

	ucli "github.com/urfave/cli/v2"
	"golang.org/x/crypto/ssh"

	"github.com/godocker/godocker/api"
)

// stdin is what gctl key add and rm read for the FILE "-"; tests replace
// it.
var stdin io.Reader = os.Stdin

// keyTimeFormat is how gctl key list prints when a key was added: in UTC,
// as gctl quota show prints the quota period.
const keyTimeFormat = "2006-01-02 15:04 UTC"

// keyCommand is gctl key: the SSH public keys that open a user's jobs
// through the SSH gateway (ssh job-ID@gateway).
func (g *ctl) keyCommand() *ucli.Command {
	return group(&ucli.Command{
		Name:      "key",
		Usage:     "register, list and remove the SSH public keys that let you into your jobs through the SSH gateway",
		UsageText: "gctl key add [-u USER] FILE... | list [-u USER|'*'] [--json] | rm [-u USER] FINGERPRINT|FILE...",
		Subcommands: []*ucli.Command{
			{
				Name: "add",
				Usage: "register the public keys of each FILE (a .pub file, or an authorized_keys file: a key a line; " +
					"'-': standard input)",
				UsageText: "gctl key add [-u USER] FILE...",
				Flags:     []ucli.Flag{keyUserFlag("register the keys for")},
				Action:    g.keyAdd,
			},
			{
				Name:      "list",
				Usage:     "list your registered keys: user, fingerprint, type, comment, when added",
				UsageText: "gctl key list [-u USER|'*'] [--json]",
				Flags: []ucli.Flag{
					keyUserFlag("list the keys of"),
					&ucli.BoolFlag{Name: "json", Usage: "print JSON (an array of keys) instead"},
				},
				Action: g.keyList,
			},
			{
				Name:      "rm",
				Usage:     "remove registered keys, named by fingerprint (SHA256:..., as gctl key list shows them) or by their .pub file",
				UsageText: "gctl key rm [-u USER] FINGERPRINT|FILE...",
				Flags:     []ucli.Flag{keyUserFlag("remove the keys of")},
				Action:    g.keyRm,
			},
		},
	})
}

// keyUserFlag is -u USER of gctl key: whose keys (admins only, for
// another user than oneself).
func keyUserFlag(what string) ucli.Flag {
	return &ucli.StringFlag{Name: "u", Aliases: []string{"user"}, Usage: "admins: " + what + " user `USER`", DefaultText: "yourself"}
}

// keyUser reads -u: "" when not given; "*" (everybody) only if all.
func keyUser(cc *ucli.Context, all bool) (string, error) {
	if !cc.IsSet("u") {
		return "", nil
	}
	u := strings.TrimSpace(cc.String("u"))
	switch {
	case u == "":
		return "", usagef("-u needs a user name")
	case u == "*" && !all:
		return "", usagef("-u '*' (everybody) is for gctl key list: name one user")
	}
	return u, nil
}

// keyLine is a public key of a key file: its line and its fingerprint.
type keyLine struct {
	n           int // from 1
	text        string
	fingerprint string
}

// keyFile is a file gctl key add or rm reads: its name for messages, its
// public keys, and the errors of the lines that hold none.
type keyFile struct {
	name  string
	lines []keyLine
	bad   []error
}

// readKeyFile reads the public keys of path ("-": standard input), a
// key a line as in a .pub or authorized_keys file, skipping blank lines
// and comments. A private key, or a file without any public key, is an
// error that says what to give instead: nothing of it is sent.
func readKeyFile(path string) (*keyFile, error) {
	f := &keyFile{name: path}
	var b []byte
	var err error
	if path == "-" {
		f.name = "STDIN"
		b, err = io.ReadAll(stdin)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in the message already
		}
		return nil, fmt.Errorf("%s: %w", f.name, err)
	}
	if isPrivateKey(b) {
		hint := "give the .pub file"
		if _, err := os.Stat(path + ".pub"); err == nil && path != "-" {
			hint = "give " + path + ".pub"
		}
		return nil, fmt.Errorf("%s is a private key: %s", f.name, hint)
	}
	for i, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			f.bad = append(f.bad, fmt.Errorf("%s:%d: not an SSH public key (%v)", f.name, i+1, err))
			continue
		}
		f.lines = append(f.lines, keyLine{i + 1, line, ssh.FingerprintSHA256(pub)})
	}
	if len(f.lines) == 0 {
		return nil, fmt.Errorf("%s holds no SSH public key: give a .pub file, e.g. ~/.ssh/id_ed25519.pub", f.name)
	}
	return f, nil
}

// isPrivateKey reports whether b holds a private key (PEM or OpenSSH's
// format), not a public one.
func isPrivateKey(b []byte) bool {
	s := strings.TrimSpace(string(b))
	return strings.HasPrefix(s, "-----BEGIN") && strings.Contains(s, "PRIVATE KEY-----")
}

// keyFailed reports on standard error what went wrong with one key or
// file (where, "" if the message names it already) and returns the exit
// status it calls for.
func (g *ctl) keyFailed(where string, err error) int {
	msg, status := explain(err)
	if where != "" {
		msg = where + ": " + msg
	}
	fmt.Fprintf(g.err, "gctl: %s\n", msg)
	return status
}

func (g *ctl) keyAdd(cc *ucli.Context) error {
	files, err := operands(cc, 1, -1, "FILE: which public key? e.g. ~/.ssh/id_ed25519.pub ('-': standard input)")
	if err != nil {
		return err
	}
	user, err := keyUser(cc, false)
	if err != nil {
		return err
	}
	status := exitOK
	for _, path := range files {
		f, err := readKeyFile(path)
		if err != nil {
			status = max(status, g.keyFailed("", err))
			continue
		}
		for _, err := range f.bad {
			status = max(status, g.keyFailed("", err))
		}
		for _, l := range f.lines {
			k, err := g.c.AddKey(g.ctx, api.AddKeyRequest{User: user, Key: l.text})
			if err != nil {
				status = max(status, g.keyFailed(fmt.Sprintf("%s:%d", f.name, l.n), err))
				if g.ctx.Err() != nil {
					return exitStatus(status) // interrupted: the rest would fail alike
				}
				continue
			}
			fmt.Fprintf(g.out, "added %s (%s) for %s\n", k.Fingerprint, keyKind(k), k.User)
		}
	}
	return exitStatus(status)
}

// keyKind is a key's type and comment, "ssh-ed25519, alice@laptop".
func keyKind(k *api.Key) string {
	if k.Comment == "" {
		return k.Type
	}
	return k.Type + ", " + k.Comment
}

func (g *ctl) keyList(cc *ucli.Context) error {
	if _, err := operands(cc, 0, 0, ""); err != nil {
		return err
	}
	user, err := keyUser(cc, true)
	if err != nil {
		return err
	}
	keys, err := g.c.Keys(g.ctx, user)
	if err != nil {
		return err
	}
	sort.SliceStable(keys, func(a, b int) bool {
		ka, kb := keys[a], keys[b]
		if ka.User != kb.User {
			return ka.User < kb.User
		}
		if !ka.Added.Equal(kb.Added) {
			return ka.Added.Before(kb.Added)
		}
		return ka.Fingerprint < kb.Fingerprint
	})
	if cc.Bool("json") {
		if keys == nil {
			keys = []*api.Key{}
		}
		return writeJSON(g.out, keys)
	}
	if len(keys) == 0 {
		switch user {
		case "":
			fmt.Fprintln(g.out, "no key registered: add yours with gctl key add ~/.ssh/id_ed25519.pub")
		case "*":
			fmt.Fprintln(g.out, "nobody has a key registered")
		default:
			fmt.Fprintf(g.out, "%s has no key registered\n", user)
		}
		return nil
	}
	t := newTable(g.out)
	row(t, "USER", "FINGERPRINT", "TYPE", "COMMENT", "ADDED")
	for _, k := range keys {
		row(t, k.User, k.Fingerprint, k.Type, orDash(k.Comment), k.Added.UTC().Format(keyTimeFormat))
	}
	return t.Flush()
}

// keyRef is a key gctl key rm was given: its fingerprint, and where it
// came from for messages ("" for a fingerprint given as such).
type keyRef struct {
	fingerprint, where string
}

// keyRefs turns an operand of gctl key rm into the fingerprints it
// names: itself if it is one (SHA256:...), else those of the keys in the
// file of that name, and the errors of the file's lines that hold none.
func keyRefs(arg string) ([]keyRef, []error, error) {
	if strings.HasPrefix(arg, "SHA256:") {
		return []keyRef{{fingerprint: arg}}, nil, nil
	}
	if strings.HasPrefix(arg, "MD5:") {
		return nil, nil, fmt.Errorf("%s: give the SHA256 fingerprint, as gctl key list shows it, or the .pub file", arg)
	}
	if arg != "-" {
		if _, err := os.Stat(arg); errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("%s is neither a fingerprint (SHA256:..., as gctl key list shows them) nor a file", arg)
		}
	}
	f, err := readKeyFile(arg)
	if err != nil {
		return nil, nil, err
	}
	refs := make([]keyRef, len(f.lines))
	for i, l := range f.lines {
		refs[i] = keyRef{fingerprint: l.fingerprint, where: f.name}
	}
	return refs, f.bad, nil
}

func (g *ctl) keyRm(cc *ucli.Context) error {
	args, err := operands(cc, 1, -1, "FINGERPRINT or FILE: which key? (gctl key list shows the fingerprints)")
	if err != nil {
		return err
	}
	user, err := keyUser(cc, false)
	if err != nil {
		return err
	}
	owner := user
	if owner == "" {
		id, err := g.c.Whoami(g.ctx)
		if err != nil {
			return err
		}
		owner = id.User
	}
	status := exitOK
	for _, arg := range args {
		refs, bad, err := keyRefs(arg)
		if err != nil {
			status = max(status, g.keyFailed("", err))
			continue
		}
		for _, err := range bad {
			status = max(status, g.keyFailed("", err))
		}
		for _, r := range refs {
			if err := g.c.DeleteKey(g.ctx, user, r.fingerprint); err != nil {
				status = max(status, g.keyFailed(r.where, err))
				if g.ctx.Err() != nil {
					return exitStatus(status)
				}
				continue
			}
			fmt.Fprintf(g.out, "removed %s for %s\n", r.fingerprint, owner)
		}
	}
	return exitStatus(status)
}
