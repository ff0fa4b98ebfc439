package e2e

import "testing"

// TestLoginProfileCABundle: the sign-in request of login trusts the CAs of
// the profile's ca_bundle, as its STS calls do (it used to honour only
// AWS_CA_BUNDLE, so a profile behind a private CA got its federation token
// and then failed at the federation endpoint).
func TestLoginProfileCABundle(t *testing.T) {
	w := newEndpointWorld(t)
	w.E.Set("ROLEVAULT_FEDERATION_URL", w.URL+"/federation")
	w.E.WriteConfig(t, "[profile carol]\nregion = us-east-1\nendpoint_url = "+w.URL+"\nca_bundle = "+w.CA+"\n")
	r := w.E.Run(t, "login", "--stdout", "carol")
	expect(t, r, 0, "out:"+w.URL+"/federation?Action=login")
}
