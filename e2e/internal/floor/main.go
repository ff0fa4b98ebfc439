// Command floor is the yardstick `make bench` divides rolevault's warm figures
// by: the least a credential_process helper that keeps its session in the
// encrypted file keyring can do. It opens the file keyring with
// github.com/99designs/keyring (the library aws-vault uses), reads one item,
// and prints it as a credential_process JSON document. No command line
// parser, no config file, no cache index, no lock.
//
//	floor ITEM
//
// The keyring directory and passphrase come from AWS_VAULT_FILE_DIR and
// AWS_VAULT_FILE_PASSPHRASE, as rolevault reads them; ITEM is the name of a
// session item rolevault cached (the one `rolevault --debug export` reads).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/99designs/keyring"
)

// session is the part of rolevault's cached session the document needs.
type session struct {
	AccessKeyID     string    `json:"access_key_id"`
	SecretAccessKey string    `json:"secret_access_key"`
	SessionToken    string    `json:"session_token"`
	Expiration      time.Time `json:"expiration"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: floor ITEM")
		os.Exit(2)
	}
	kr, err := keyring.Open(keyring.Config{
		AllowedBackends:  []keyring.BackendType{keyring.FileBackend},
		FileDir:          os.Getenv("AWS_VAULT_FILE_DIR"),
		FilePasswordFunc: keyring.FixedStringPrompt(os.Getenv("AWS_VAULT_FILE_PASSPHRASE")),
	})
	if err != nil {
		fail(err)
	}
	item, err := kr.Get(os.Args[1])
	if err != nil {
		fail(err)
	}
	var s session
	if err := json.Unmarshal(item.Data, &s); err != nil {
		fail(err)
	}
	out, err := json.Marshal(struct {
		Version         int
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}{1, s.AccessKeyID, s.SecretAccessKey, s.SessionToken, s.Expiration.UTC().Format(time.RFC3339)})
	if err != nil {
		fail(err)
	}
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "floor:", err)
	os.Exit(1)
}
