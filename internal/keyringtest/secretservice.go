// Package keyringtest drives real keyring backends for tests: it creates,
// unlocks and locks gnome-keyring collections over D-Bus without the GUI
// prompt a headless machine cannot show.
package keyringtest

import (
	"fmt"
	"os"

	"github.com/godbus/dbus"
)

const (
	secretsBus  = "org.freedesktop.secrets"
	secretsPath = dbus.ObjectPath("/org/freedesktop/secrets")
	// gnome-keyring's private interface: the only way to make a collection
	// without gcr-prompter, which needs a display.
	gnomeInternal = "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface"
)

// secret is the Secret Service's (oayays) struct.
type secret struct {
	Session     dbus.ObjectPath
	Params      []byte
	Value       []byte
	ContentType string
}

// CollectionPath is the D-Bus path gnome-keyring gives the collection label.
func CollectionPath(label string) dbus.ObjectPath {
	return secretsPath + "/collection/" + dbus.ObjectPath(label)
}

func service() (dbus.BusObject, dbus.ObjectPath, error) {
	conn, err := dbus.SessionBus()
	if err != nil {
		return nil, "", fmt.Errorf("session bus: %w", err)
	}
	svc := conn.Object(secretsBus, secretsPath)
	var out dbus.Variant
	var session dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&out, &session); err != nil {
		return nil, "", fmt.Errorf("opening a Secret Service session: %w", err)
	}
	return svc, session, nil
}

// CreateCollection creates the collection label, protected by password and
// left unlocked, as if someone had created it in seahorse.
func CreateCollection(label, password string) (dbus.ObjectPath, error) {
	svc, session, err := service()
	if err != nil {
		return "", err
	}
	props := map[string]dbus.Variant{"org.freedesktop.Secret.Collection.Label": dbus.MakeVariant(label)}
	var coll dbus.ObjectPath
	err = svc.Call(gnomeInternal+".CreateWithMasterPassword", 0, props, secret{session, nil, []byte(password), "text/plain"}).Store(&coll)
	if err != nil {
		return "", fmt.Errorf("creating collection %q: %w", label, err)
	}
	return coll, nil
}

// UnlockCollection unlocks the collection label with its password.
func UnlockCollection(label, password string) error {
	svc, session, err := service()
	if err != nil {
		return err
	}
	err = svc.Call(gnomeInternal+".UnlockWithMasterPassword", 0, CollectionPath(label), secret{session, nil, []byte(password), "text/plain"}).Store()
	if err != nil {
		return fmt.Errorf("unlocking collection %q: %w", label, err)
	}
	return nil
}

// LockCollection locks the collection label; locking never needs a prompt.
func LockCollection(label string) error {
	svc, _, err := service()
	if err != nil {
		return err
	}
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.Lock", 0, []dbus.ObjectPath{CollectionPath(label)}).Store(&locked, &prompt); err != nil {
		return fmt.Errorf("locking collection %q: %w", label, err)
	}
	if len(locked) == 0 {
		return fmt.Errorf("locking collection %q: the service locked nothing (prompt %s)", label, prompt)
	}
	return nil
}

// Main runs one helper command, for tests that must act inside a D-Bus
// session their own process is not part of (e.g. under dbus-run-session):
//
//	create LABEL PASSWORD | unlock LABEL PASSWORD | lock LABEL
//
// It returns the process exit code.
func Main(args []string) int {
	var err error
	switch {
	case len(args) == 3 && args[0] == "create":
		_, err = CreateCollection(args[1], args[2])
	case len(args) == 3 && args[0] == "unlock":
		err = UnlockCollection(args[1], args[2])
	case len(args) == 2 && args[0] == "lock":
		err = LockCollection(args[1])
	default:
		err = fmt.Errorf("usage: create LABEL PASSWORD | unlock LABEL PASSWORD | lock LABEL (got %q)", args)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "keyringtest:", err)
		return 1
	}
	return 0
}
