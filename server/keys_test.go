package server

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/godocker/godocker/api"
)

// edKey returns the public key of an ed25519 key made from seed, and its
// authorized_keys line with comment (none if "").
func edKey(t *testing.T, seed byte, comment string) (ssh.PublicKey, string) {
	t.Helper()
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	pub, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(s).Public())
	if err != nil {
		t.Fatal(err)
	}
	return pub, authorizedLine(pub, comment)
}

// rsaKey returns the authorized_keys line of a new RSA key of bits.
func rsaKey(t *testing.T, bits int) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return authorizedLine(pub, "")
}

// certKey returns the authorized_keys line of a certificate of pub.
func certKey(t *testing.T, pub ssh.PublicKey) string {
	t.Helper()
	_, ca, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(ca)
	if err != nil {
		t.Fatal(err)
	}
	cert := &ssh.Certificate{Key: pub, CertType: ssh.UserCert, ValidPrincipals: []string{"alice"}, ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, signer); err != nil {
		t.Fatal(err)
	}
	return authorizedLine(cert, "alice@laptop")
}

// dsaKey returns the authorized_keys line of an ssh-dss key: only its
// form matters, so its numbers are made up (crypto/dsa is deprecated).
func dsaKey() string {
	p := new(big.Int).Lsh(big.NewInt(1), 1023)
	p.Add(p, big.NewInt(1))
	q := new(big.Int).Lsh(big.NewInt(1), 159)
	q.Add(q, big.NewInt(1))
	blob := ssh.Marshal(struct {
		Name       string
		P, Q, G, Y *big.Int
	}{keyTypeDSA, p, q, big.NewInt(2), big.NewInt(3)})
	return keyTypeDSA + " " + base64.StdEncoding.EncodeToString(blob) + " old@dsa"
}

func authorizedLine(pub ssh.PublicKey, comment string) string {
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	if comment != "" {
		line += " " + comment
	}
	return line
}

// addKeyBody is the body of POST /api/v1/keys.
func addKeyBody(t *testing.T, user, key string) string {
	t.Helper()
	b, err := json.Marshal(api.AddKeyRequest{User: user, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// keysPath is /api/v1/keys with query parameters, as pairs.
func keysPath(pairs ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		v.Add(pairs[i], pairs[i+1])
	}
	if len(v) == 0 {
		return "/api/v1/keys"
	}
	return "/api/v1/keys?" + v.Encode()
}

// listedKeys lists keys as c, failing the test unless the server answers.
func (h *harness) listedKeys(c *caller, pairs ...string) []*api.Key {
	h.t.Helper()
	var keys []*api.Key
	if err := json.Unmarshal([]byte(h.must(c, "GET", keysPath(pairs...), "", 200)), &keys); err != nil {
		h.t.Fatal(err)
	}
	return keys
}

func fingerprints(keys []*api.Key) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.User + " " + k.Fingerprint
	}
	return out
}

func TestParseKey(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 1, 2, 3, time.FixedZone("CET", 3600))
	pub, line := edKey(t, 1, "alice@laptop  with blanks")
	k, err := parseKey("\n  "+line+"\r\n", "alice", now)
	if err != nil {
		t.Fatal(err)
	}
	want := &api.Key{User: "alice", Fingerprint: ssh.FingerprintSHA256(pub), Type: "ssh-ed25519",
		Key: authorizedLine(pub, ""), Comment: "alice@laptop  with blanks", Added: now.UTC()}
	if *k != *want {
		t.Errorf("parseKey = %+v\nwant %+v", k, want)
	}
	if !strings.HasPrefix(k.Fingerprint, "SHA256:") {
		t.Errorf("fingerprint %q is not ssh-keygen -l's SHA256:...", k.Fingerprint)
	}

	_, other := edKey(t, 2, "")
	base64Part := strings.Fields(line)[1]
	for _, c := range []struct{ line, want string }{
		{"", "no key: give one line of a .pub file"},
		{"   \n", "no key"},
		{"hello", "not an SSH public key"},
		{"ssh-ed25519 !!!notbase64 alice", "not an SSH public key"},
		{"ssh-rsa " + base64Part + " liar", "not an SSH public key"}, // the blob is ed25519's
		{"# " + line, "not an SSH public key"},
		{line + "\n" + other, "several lines: give one key per request"},
		{`command="ls" ` + line, "options are not supported: register the bare key (TYPE BASE64 COMMENT)"},
		{"restrict " + line, "options are not supported"},
		{`no-pty,from="10.0.0.0/8" ` + line, "options are not supported"},
		{"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n", "this is a private key"},
		{"---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n---- END SSH2 PUBLIC KEY ----", "ssh-keygen -i -f FILE"},
		{dsaKey(), "ssh-dss (DSA) keys are not accepted"},
		{rsaKey(t, 1024), "this RSA key has 1024 bits, too few to be safe: give one of 2048 bits or more"},
		{line + strings.Repeat("x", maxKeyComment), "comment"},
		{line + " \x1b]0;pwned\x07", "control characters"},
		{line + " a\tb", "control characters"},
		{line + " \xff", "not UTF-8"},
	} {
		k, err := parseKey(c.line, "alice", now)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseKey(%.60q) = %+v, %v; want an error saying %q", c.line, k, err, c.want)
		}
		if err != nil && !errors.Is(err, api.ErrInvalid) {
			t.Errorf("parseKey(%.60q): %v is not api.ErrInvalid", c.line, err)
		}
	}
	if k, err := parseKey(certKey(t, pub), "alice", now); err == nil || !strings.Contains(err.Error(), "certificates are not supported") {
		t.Errorf("parseKey of a certificate = %+v, %v; want it refused", k, err)
	}
	if k, err := parseKey(rsaKey(t, 2048), "alice", now); err != nil || k.Type != ssh.KeyAlgoRSA {
		t.Errorf("parseKey of a 2048-bit RSA key = %+v, %v; want it accepted", k, err)
	}
}

func TestKeys(t *testing.T) {
	h := newHarness(t, nil)
	pub, line := edKey(t, 1, "alice@laptop")
	fp := ssh.FingerprintSHA256(pub)
	_, line2 := edKey(t, 2, "")

	// Alice registers her key: it comes back as stored, bare and named.
	before := time.Now().UTC()
	var k api.Key
	if err := json.Unmarshal([]byte(h.must(h.alice, "POST", "/api/v1/keys", addKeyBody(t, "", line), 201)), &k); err != nil {
		t.Fatal(err)
	}
	if k.User != "alice" || k.Fingerprint != fp || k.Type != "ssh-ed25519" || k.Key != authorizedLine(pub, "") || k.Comment != "alice@laptop" ||
		k.Added.Before(before) || k.Added.After(time.Now()) || k.Added.Location() != time.UTC {
		t.Errorf("registered key = %+v", k)
	}
	if got := h.listedKeys(h.alice); len(got) != 1 || *got[0] != k {
		t.Errorf("alice's keys = %+v; want %+v", got, k)
	}
	// Naming herself is the same.
	h.must(h.alice, "POST", "/api/v1/keys", addKeyBody(t, "alice", line2), 201)

	// Registering it again, even with another comment, is a conflict.
	if code, body := h.do(h.alice, "POST", "/api/v1/keys", addKeyBody(t, "", authorizedLine(pub, "other comment"))); code != 409 ||
		!strings.Contains(body, "key "+fp+" is already registered for alice: gctl key list shows it") {
		t.Errorf("registering a key twice: %d %s; want 409", code, body)
	}

	// Bad requests change nothing.
	for _, bad := range []string{
		addKeyBody(t, "", "restrict "+line2),
		addKeyBody(t, "", "garbage"),
		addKeyBody(t, "", dsaKey()),
		addKeyBody(t, "", rsaKey(t, 1024)),
		addKeyBody(t, "*", line2),
		`{"key":` + jsonString(line2) + `,"bogus":1}`,
		`not json`,
	} {
		if code, body := h.do(h.alice, "POST", "/api/v1/keys", bad); code != 400 {
			t.Errorf("POST %.80s: %d %s; want 400", bad, code, body)
		}
	}

	// Bob may register the same key: it opens only his jobs. He sees
	// only his own keys.
	h.must(h.bob, "POST", "/api/v1/keys", addKeyBody(t, "", line), 201)
	if got := fingerprints(h.listedKeys(h.bob)); len(got) != 1 || got[0] != "bob "+fp {
		t.Errorf("bob's keys = %q; want his one", got)
	}

	// Alice may neither see, nor add to, nor remove Bob's keys.
	for _, c := range []struct{ method, path, body string }{
		{"GET", keysPath("user", "bob"), ""},
		{"GET", keysPath("user", "*"), ""},
		{"POST", "/api/v1/keys", addKeyBody(t, "bob", line2)},
		{"DELETE", keysPath("user", "bob", "fingerprint", fp), ""},
	} {
		code, body := h.do(h.alice, c.method, c.path, c.body)
		if code != 403 || !strings.Contains(body, "alice may not") || !strings.Contains(body, "only admins may") {
			t.Errorf("alice: %s %s %s: %d %s; want 403 with a sentence", c.method, c.path, c.body, code, body)
		}
	}
	if keys, err := h.st.Keys(t.Context(), "bob"); err != nil || len(keys) != 1 {
		t.Errorf("bob's keys after alice's attempts = %+v, %v; want his one", keys, err)
	}

	// Alice removes her key; Bob's copy of it stays.
	h.must(h.alice, "DELETE", keysPath("fingerprint", fp), "", 204)
	if code, body := h.do(h.alice, "DELETE", keysPath("fingerprint", fp), ""); code != 404 ||
		!strings.Contains(body, "no key "+fp+" registered for alice: gctl key list shows them") {
		t.Errorf("removing a removed key: %d %s; want 404", code, body)
	}
	if got := fingerprints(h.listedKeys(h.bob)); len(got) != 1 {
		t.Errorf("bob's keys after alice removed hers = %q; want his one", got)
	}
	for _, path := range []string{"/api/v1/keys", keysPath("fingerprint", fp, "user", "*"), keysPath("fingerprint", fp, "user", "a", "user", "b")} {
		if code, body := h.do(h.alice, "DELETE", path, ""); code != 400 {
			t.Errorf("DELETE %s: %d %s; want 400", path, code, body)
		}
	}

	// Admins see everybody's keys, by user, and remove anybody's.
	if got, want := fingerprints(h.listedKeys(h.admin, "user", "*")), []string{"alice " + ssh.FingerprintSHA256(mustParse(t, line2)), "bob " + fp}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("everybody's keys = %q; want %q", got, want)
	}
	if got := fingerprints(h.listedKeys(h.admin, "user", "bob")); len(got) != 1 || got[0] != "bob "+fp {
		t.Errorf("bob's keys as the admin sees them = %q", got)
	}
	if got := h.listedKeys(h.admin); len(got) != 0 {
		t.Errorf("root's own keys = %+v; want none", got)
	}
	if code, body := h.do(h.admin, "DELETE", keysPath("user", "bob", "fingerprint", "SHA256:nope"), ""); code != 404 ||
		!strings.Contains(body, "no key SHA256:nope registered for bob: gctl key list -u bob shows them") {
		t.Errorf("admin removing a key bob has not: %d %s; want 404", code, body)
	}
	h.must(h.admin, "DELETE", keysPath("user", "bob", "fingerprint", fp), "", 204)
	if got := h.listedKeys(h.bob); len(got) != 0 {
		t.Errorf("bob's keys after the admin removed his = %+v; want none", got)
	}

	// Admins register keys for users of this machine only.
	var nobodys api.Key
	if err := json.Unmarshal([]byte(h.must(h.admin, "POST", "/api/v1/keys", addKeyBody(t, "nobody", line), 201)), &nobodys); err != nil {
		t.Fatal(err)
	}
	if nobodys.User != "nobody" || nobodys.Fingerprint != fp {
		t.Errorf("key registered for nobody = %+v", nobodys)
	}
	if code, body := h.do(h.admin, "POST", "/api/v1/keys", addKeyBody(t, "no-such-user-here", line)); code != 400 || !strings.Contains(body, `user \"no-such-user-here\" is not known on this machine`) {
		t.Errorf("admin registering a key for an unknown user: %d %s; want 400", code, body)
	}
	if code, body := h.do(h.admin, "POST", "/api/v1/keys", addKeyBody(t, "nobody", line)); code != 409 || !strings.Contains(body, "gctl key list -u nobody shows it") {
		t.Errorf("admin registering nobody's key twice: %d %s; want 409", code, body)
	}
}

func mustParse(t *testing.T, line string) ssh.PublicKey {
	t.Helper()
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
