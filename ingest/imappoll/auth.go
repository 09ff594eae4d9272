package imappoll

import (
	"fmt"
	"os"
	"strings"

	"github.com/emersion/go-sasl"
)

// secret reads a credential from a file (trailing newline trimmed: files
// written by "echo" or secret managers end with one) or from the environment.
// It is read at each connect so that rotated tokens and passwords are picked up.
func secret(file, env, what string) (string, error) {
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read %s: %w", what, err)
		}
		s := strings.TrimRight(string(b), "\r\n")
		if s == "" {
			return "", fmt.Errorf("%s file %s is empty", what, file)
		}
		return s, nil
	case env != "":
		s, ok := os.LookupEnv(env)
		if !ok || s == "" {
			return "", fmt.Errorf("%s: environment variable %s is not set", what, env)
		}
		return strings.TrimRight(s, "\r\n"), nil
	}
	return "", fmt.Errorf("no %s configured", what)
}

// xoauth2Client is the client side of Google's and Microsoft's XOAUTH2 SASL
// mechanism (https://developers.google.com/gmail/imap/xoauth2-protocol):
// the initial response is "user=" USER ^A "auth=Bearer " TOKEN ^A ^A.
type xoauth2Client struct {
	username, token string
}

var _ sasl.Client = (*xoauth2Client)(nil)

func (c *xoauth2Client) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + c.username + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

// Next answers the server's error challenge (a base64 JSON status) with an
// empty response, as the protocol asks; the server then fails the command
// with NO, which is the error the caller sees.
func (c *xoauth2Client) Next(challenge []byte) ([]byte, error) {
	return []byte{}, nil
}
