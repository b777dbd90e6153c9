package api

import (
	"net"
	"time"
)

// Key is an SSH public key a user registered (gctl key add) to enter their
// jobs through the SSH gateway. A user may register a key another user
// registered too: a key only ever opens its registrant's jobs.
type Key struct {
	User string `json:"user"`
	// Fingerprint is the key's SHA256 fingerprint as ssh-keygen -l prints
	// it (SHA256:...): how a key is named in gctl key list and rm.
	Fingerprint string `json:"fingerprint"`
	// Type is the key's algorithm: ssh-ed25519, ssh-rsa, ...
	Type string `json:"type"`
	// Key is the public key in authorized_keys form, TYPE BASE64, without
	// options or comment.
	Key     string    `json:"key"`
	Comment string    `json:"comment,omitempty"`
	Added   time.Time `json:"added"`
}

// AddKeyRequest registers a public key: Key is one authorized_keys line
// (TYPE BASE64 [COMMENT]), User is whose it is (admins only; empty: the
// caller).
type AddKeyRequest struct {
	User string `json:"user,omitempty"`
	Key  string `json:"key"`
}

// ServerInfo is what clients may want to know about the server they talk
// to.
type ServerInfo struct {
	// SSHGateway is the address users ssh to, HOST:PORT ("" when the
	// gateway is off).
	SSHGateway string `json:"ssh_gateway,omitempty"`
}

// SSHCommand is the command line that enters job ref (12, 12.4) through
// the gateway: ssh -p PORT job-REF@HOST ("" when there is no gateway).
func (in ServerInfo) SSHCommand(ref string) string {
	if in.SSHGateway == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(in.SSHGateway)
	switch {
	case err != nil:
		return "ssh job-" + ref + "@" + in.SSHGateway
	case port == "22":
		return "ssh job-" + ref + "@" + host
	}
	return "ssh -p " + port + " job-" + ref + "@" + host
}
