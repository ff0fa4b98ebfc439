//go:build !windows

package prompt

import "context"

// winCredUIBuilt is false outside Windows: the dialog is a Windows API.
const winCredUIBuilt = false

func winCredUIAsk(context.Context, string, string) (string, error) {
	return "", ErrUnavailable
}
