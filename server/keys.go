package server

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"os/user"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store"
)

// SSH public keys users register to enter their jobs through the SSH
// gateway (gctl key). Users list, add and remove their own keys; admins
// anybody's. A key opens only the jobs of the user it is registered for.

// minRSABits is the shortest RSA key accepted: NIST's minimum since 2013
// (SP 800-131A).
const minRSABits = 2048

// keyTypeDSA is the type of DSA keys (x/crypto/ssh's deprecated
// InsecureKeyAlgoDSA), refused.
const keyTypeDSA = "ssh-dss"

// maxKeyComment caps a key's comment: it is shown in gctl key list.
const maxKeyComment = 1024

// parseKey reads one authorized_keys line, TYPE BASE64 [COMMENT], into a
// key for user added at now. What the gateway could not honour or should
// not trust is refused with a sentence saying what to give instead.
func parseKey(line, user string, now time.Time) (*api.Key, error) {
	line = strings.TrimSpace(line)
	switch {
	case line == "":
		return nil, api.Invalid("no key: give one line of a .pub file, TYPE BASE64 [COMMENT], e.g. the content of ~/.ssh/id_ed25519.pub")
	case strings.HasPrefix(line, "-----BEGIN") && strings.Contains(line, "PRIVATE KEY"):
		return nil, api.Invalid("this is a private key: keep it to yourself and give the public one (the .pub file)")
	case strings.HasPrefix(line, "---- BEGIN SSH2 PUBLIC KEY"):
		return nil, api.Invalid("this is an RFC 4716 public key: convert it to OpenSSH's form with ssh-keygen -i -f FILE")
	case strings.Contains(line, "\n"):
		return nil, api.Invalid("several lines: give one key per request, one line of a .pub file")
	}
	pub, comment, options, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return nil, api.Invalid(fmt.Sprintf("not an SSH public key (%v): give one line of a .pub file, TYPE BASE64 [COMMENT]", err))
	}
	if len(options) > 0 {
		return nil, api.Invalid("options are not supported: register the bare key (TYPE BASE64 COMMENT)")
	}
	if err := checkKeyStrength(pub); err != nil {
		return nil, err
	}
	if len(comment) > maxKeyComment {
		return nil, api.Invalid(fmt.Sprintf("the key's comment is %d bytes long: keep it under %d", len(comment), maxKeyComment))
	}
	if strings.ContainsFunc(comment, unicode.IsControl) || !utf8.ValidString(comment) {
		// It is printed on admins' terminals (gctl key list).
		return nil, api.Invalid("the key's comment holds control characters or is not UTF-8: give a plain one, e.g. alice@laptop")
	}
	return &api.Key{
		User:        user,
		Fingerprint: ssh.FingerprintSHA256(pub),
		Type:        pub.Type(),
		Key:         strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))),
		Comment:     comment,
		Added:       now.UTC(),
	}, nil
}

// checkKeyStrength refuses certificates, DSA keys and short RSA keys.
func checkKeyStrength(pub ssh.PublicKey) error {
	if _, ok := pub.(*ssh.Certificate); ok {
		return api.Invalid("certificates are not supported: register the bare key (the .pub file, not the -cert.pub one)")
	}
	if pub.Type() == keyTypeDSA {
		return api.Invalid("ssh-dss (DSA) keys are not accepted: they are weak and OpenSSH no longer takes them; make a new key with ssh-keygen -t ed25519")
	}
	ck, ok := pub.(ssh.CryptoPublicKey)
	if !ok {
		return nil
	}
	if k, ok := ck.CryptoPublicKey().(*rsa.PublicKey); ok && k.N.BitLen() < minRSABits {
		return api.Invalid(fmt.Sprintf("this RSA key has %d bits, too few to be safe: give one of %d bits or more, or make a new key with ssh-keygen -t ed25519", k.N.BitLen(), minRSABits))
	}
	return nil
}

// keyOwner is whose keys a request names: the caller's when user is
// empty; anybody else's for admins only, and for "*" "" (everybody's, as
// store.Store.Keys says it) if all allows it. doing says what the caller
// is doing to whose (a %s) keys, for the refusal: "list %s's keys",
// "register keys for %s".
func keyOwner(c *caller, user, doing string, all bool) (string, error) {
	switch {
	case user == "" || user == c.User:
		return c.User, nil
	case user == "*" && !all:
		return "", api.Invalid("name one user (user=*, everybody, is for listing keys only)")
	case user == "*":
		return "", adminOnly(c, fmt.Sprintf(doing, "everybody"))
	case !validUserName(user):
		return "", api.Invalid(fmt.Sprintf("user name %q is not valid", user))
	}
	return user, adminOnly(c, fmt.Sprintf(doing, user))
}

// oneUser reads the ?user= of a request: at most one.
func oneUser(r *http.Request) (string, error) {
	users := r.URL.Query()["user"]
	switch len(users) {
	case 0:
		return "", nil
	case 1:
		return users[0], nil
	}
	return "", api.Invalid("give one user=, or user=* for everybody")
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request, c *caller) error {
	u, err := oneUser(r)
	if err != nil {
		return err
	}
	owner, err := keyOwner(c, u, "list %s's keys", true)
	if err != nil {
		return err
	}
	keys, err := s.store.Keys(r.Context(), owner)
	if err != nil {
		return fmt.Errorf("list keys: %w", err)
	}
	if keys == nil {
		keys = []*api.Key{}
	}
	writeJSON(w, http.StatusOK, keys)
	return nil
}

func (s *Server) postKey(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req api.AddKeyRequest
	if err := decodeBody(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	owner, err := keyOwner(c, req.User, "register keys for %s", false)
	if err != nil {
		return err
	}
	if owner != c.User {
		// The caller is known to the machine; anybody else must be too.
		if _, err := user.Lookup(owner); err != nil {
			return api.Invalid(fmt.Sprintf("user %q is not known on this machine: a key opens the jobs of one of its users", owner))
		}
	}
	k, err := parseKey(req.Key, owner, time.Now())
	if err != nil {
		return err
	}
	if err := s.store.AddKey(r.Context(), k); err != nil {
		if errors.Is(err, store.ErrExists) {
			return api.Conflict(fmt.Sprintf("key %s is already registered for %s: gctl key list%s shows it", k.Fingerprint, owner, listFlag(c, owner)))
		}
		return fmt.Errorf("register key %s of %s: %w", k.Fingerprint, owner, err)
	}
	s.log.Info("key registered", "user", owner, "fingerprint", k.Fingerprint, "type", k.Type, "by", c.User)
	writeJSON(w, http.StatusCreated, k)
	return nil
}

func (s *Server) deleteKey(w http.ResponseWriter, r *http.Request, c *caller) error {
	u, err := oneUser(r)
	if err != nil {
		return err
	}
	owner, err := keyOwner(c, u, "remove %s's keys", false)
	if err != nil {
		return err
	}
	fp := r.URL.Query().Get("fingerprint")
	if fp == "" {
		return api.Invalid("which key? give fingerprint=SHA256:... (gctl key list shows them)")
	}
	if err := s.store.DeleteKey(r.Context(), owner, fp); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return api.NotFound(fmt.Sprintf("no key %s registered for %s: gctl key list%s shows them", fp, owner, listFlag(c, owner)))
		}
		return fmt.Errorf("remove key %s of %s: %w", fp, owner, err)
	}
	s.log.Info("key removed", "user", owner, "fingerprint", fp, "by", c.User)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listFlag is what c adds to gctl key list to see owner's keys.
func listFlag(c *caller, owner string) string {
	if owner == c.User {
		return ""
	}
	return " -u " + owner
}
