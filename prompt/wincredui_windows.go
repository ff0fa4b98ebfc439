//go:build windows

package prompt

import (
	"context"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// winCredUIBuilt is true on Windows, where the credential dialog exists.
const winCredUIBuilt = true

// credui.dll is loaded from System32 only, never from the working directory.
var procCredUIPromptForCredentialsW = windows.NewLazySystemDLL("credui.dll").NewProc("CredUIPromptForCredentialsW")

// Flags and sizes from wincred.h.
const (
	creduiFlagsDoNotPersist       = 0x00002  // no "remember" box, nothing stored
	creduiFlagsAlwaysShowUI       = 0x00080  // never answer from saved credentials
	creduiFlagsGenericCredentials = 0x40000  // the user name is not a Windows account
	creduiFlagsKeepUsername       = 0x100000 // the serial shown as user name is read-only
	creduiMaxUsernameLength       = 513
	creduiMaxPasswordLength       = 256
)

// creduiInfo is CREDUI_INFOW.
type creduiInfo struct {
	cbSize         uint32
	hwndParent     windows.HWND
	pszMessageText *uint16
	pszCaptionText *uint16
	hbmBanner      windows.Handle
}

// winCredUIAsk shows the Windows credential dialog with the MFA serial as a
// read-only user name and the code typed as the password. The dialog is
// modal and cannot be closed from outside, so a cancel returns at once and
// leaves it to close with the process.
func winCredUIAsk(ctx context.Context, mfaSerial, note string) (string, error) {
	type result struct {
		code string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, err := winCredUIDialog(mfaSerial, note)
		done <- result{code, err}
	}()
	select {
	case r := <-done:
		return r.code, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func winCredUIDialog(mfaSerial, note string) (string, error) {
	if err := procCredUIPromptForCredentialsW.Find(); err != nil {
		return "", fmt.Errorf("%w: wincredui: %v", ErrUnavailable, err)
	}
	message, err := windows.UTF16PtrFromString(dialogText(mfaSerial, note))
	if err != nil {
		return "", fmt.Errorf("wincredui: %w", err)
	}
	title, err := windows.UTF16PtrFromString(dialogTitle)
	if err != nil {
		return "", fmt.Errorf("wincredui: %w", err)
	}
	serial, err := windows.UTF16FromString(mfaSerial)
	if err != nil {
		return "", fmt.Errorf("wincredui: %w", err)
	}
	info := creduiInfo{pszMessageText: message, pszCaptionText: title}
	info.cbSize = uint32(unsafe.Sizeof(info))
	user := make([]uint16, creduiMaxUsernameLength+1)
	copy(user[:len(user)-1], serial) // keeps the final NUL even for a long serial
	pass := make([]uint16, creduiMaxPasswordLength+1)
	defer clear(pass)
	var save int32
	r, _, _ := procCredUIPromptForCredentialsW.Call(
		uintptr(unsafe.Pointer(&info)),
		uintptr(unsafe.Pointer(title)), // target name; nothing is persisted under it
		0,                              // reserved
		0,                              // no previous authentication error
		uintptr(unsafe.Pointer(&user[0])), uintptr(len(user)),
		uintptr(unsafe.Pointer(&pass[0])), uintptr(len(pass)),
		uintptr(unsafe.Pointer(&save)),
		creduiFlagsGenericCredentials|creduiFlagsAlwaysShowUI|creduiFlagsDoNotPersist|creduiFlagsKeepUsername,
	)
	switch windows.Errno(r) {
	case 0:
		return windows.UTF16ToString(pass), nil
	case windows.ERROR_CANCELLED:
		return "", fmt.Errorf("%w: wincredui dialog closed without a code", ErrCanceled)
	}
	return "", fmt.Errorf("wincredui: CredUIPromptForCredentialsW: %w", windows.Errno(r))
}
