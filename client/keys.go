package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/godocker/godocker/api"
)

// Keys lists the SSH public keys registered by user: "" the caller's,
// another user's or "*" everybody's (admins only); by user, then by when
// they were added.
func (c *Client) Keys(ctx context.Context, user string) ([]*api.Key, error) {
	v := url.Values{}
	if user != "" {
		v.Set("user", user)
	}
	var keys []*api.Key
	if err := c.do(ctx, http.MethodGet, "/api/v1/keys", v, nil, &keys); err != nil {
		return nil, err
	}
	return keys, nil
}

// AddKey registers a public key (one authorized_keys line) for r.User,
// the caller if empty (another user: admins only), and returns it as
// stored. A key that user registered already is an error matching
// api.ErrConflict; one the server refuses (options, DSA, short RSA, not
// a key) api.ErrInvalid.
func (c *Client) AddKey(ctx context.Context, r api.AddKeyRequest) (*api.Key, error) {
	var k api.Key
	if err := c.do(ctx, http.MethodPost, "/api/v1/keys", nil, r, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// DeleteKey removes the key of that fingerprint (SHA256:...) registered
// for user, the caller if empty (another user: admins only); none is an
// error matching api.ErrNotFound.
func (c *Client) DeleteKey(ctx context.Context, user, fingerprint string) error {
	v := url.Values{"fingerprint": {fingerprint}}
	if user != "" {
		v.Set("user", user)
	}
	return c.do(ctx, http.MethodDelete, "/api/v1/keys", v, nil, nil)
}
