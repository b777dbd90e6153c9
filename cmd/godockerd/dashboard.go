package main

import (
	"context"

	"github.com/godocker/godocker/client"
	"github.com/godocker/godocker/sshgw"
	"github.com/godocker/godocker/tui"
)

// dashboard is what ssh USER@HOST opens in a terminal: gtop, talking to
// this server through its socket as that user (root acting as the user,
// with exactly the user's rights).
func dashboard(socket string) sshgw.Dashboard {
	return func(ctx context.Context, user string, t sshgw.Terminal) error {
		resize := make(chan tui.Size)
		go func() {
			defer close(resize)
			for s := range t.Resize {
				select {
				case resize <- tui.Size{Width: s.Width, Height: s.Height}:
				case <-ctx.Done():
					return
				}
			}
		}()
		return tui.Run(ctx, client.New(socket).As(user), tui.Options{
			In:     t.In,
			Out:    t.Out,
			Env:    t.Env,
			Size:   tui.Size{Width: t.Size.Width, Height: t.Size.Height},
			Resize: resize,
			Remote: true,
		})
	}
}
