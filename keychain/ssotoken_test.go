package keychain

import (
	"testing"
	"time"

	"github.com/99designs/keyring"
	"github.com/rolevault/rolevault/plan"
)

func TestSSOTokenStore(t *testing.T) {
	kr := keyring.NewArrayKeyring(nil)
	dir := t.TempDir()
	st := &SSOTokenStore{Keyring: kr, IndexDir: dir}
	key := plan.SSOTokenKey("corp", "https://corp.awsapps.com/start", "eu-west-1")
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tok := &SSOToken{Name: "corp", StartURL: "https://corp.awsapps.com/start", Region: "eu-west-1",
		ClientID: "cid", ClientSecret: "csecret", ClientSecretExpiresAt: exp.Add(24 * time.Hour),
		AccessToken: "access", RefreshToken: "refresh", ExpiresAt: exp}
	if err := st.Put(key, tok); err != nil {
		t.Fatal(err)
	}
	got, err := st.Get(key)
	if err != nil || got == nil || got.RefreshToken != "refresh" || !got.ExpiresAt.Equal(exp) {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	state, ok, err := st.State(key)
	if err != nil || !ok || !state.Refreshable || !state.ExpiresAt.Equal(exp) || state.Name != "corp" {
		t.Errorf("State = %+v, %v, %v", state, ok, err)
	}
	// A sign-in is not a session and not a profile.
	if err := kr.Set(keyring.Item{Key: "alice", Data: []byte(`{"AccessKeyID":"A","SecretAccessKey":"B"}`)}); err != nil {
		t.Fatal(err)
	}
	ks := &KeyStore{Keyring: kr}
	if items, _ := ks.Sessions(); len(items) != 0 {
		t.Errorf("Sessions = %+v", items)
	}
	if profiles, _ := ks.ListProfiles(); len(profiles) != 1 || profiles[0] != "alice" {
		t.Errorf("ListProfiles = %v", profiles)
	}
	if n, _ := ks.RemoveSessions("corp"); n != 0 {
		t.Errorf("RemoveSessions removed a sign-in")
	}
	list, err := st.List()
	if err != nil || len(list) != 1 || list[0].Name != "corp" || list[0].Key != key {
		t.Errorf("List = %+v, %v", list, err)
	}
	if err := st.Remove(key); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Get(key); got != nil {
		t.Errorf("after Remove: %+v", got)
	}
	if _, ok, _ := st.State(key); ok {
		t.Errorf("index entry left after Remove")
	}
}

// aws-vault v7 keeps its SSO tokens as "oidc:<start URL>" holding the SDK's
// CreateTokenOutput and an Expiration.
func TestSSOTokenStoreReadsAWSVaultItems(t *testing.T) {
	kr := keyring.NewArrayKeyring([]keyring.Item{{Key: "oidc:https://corp.awsapps.com/start",
		Data: []byte(`{"Token":{"AccessToken":"av-access","ExpiresIn":28800,"IdToken":null,"RefreshToken":null,"TokenType":"Bearer","ResultMetadata":{}},"Expiration":"2030-01-01T00:00:00Z"}`)}})
	st := &SSOTokenStore{Keyring: kr}
	got, err := st.AWSVaultToken("https://corp.awsapps.com/start")
	if err != nil || got == nil || got.AccessToken != "av-access" || got.ExpiresAt.Year() != 2030 {
		t.Fatalf("AWSVaultToken = %+v, %v", got, err)
	}
	if got, err := st.AWSVaultToken("https://other/start"); got != nil || err != nil {
		t.Errorf("missing item: %+v, %v", got, err)
	}
}
