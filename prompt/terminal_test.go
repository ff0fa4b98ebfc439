package prompt

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTerminal stands in for the terminal device with pipes: each open gets
// fresh pipes, is fed the next scripted input, and what the code writes to
// the device is collected.
type fakeTerminal struct {
	t      *testing.T
	mu     sync.Mutex
	inputs []*string // nil: keep input open and silent (a person who never types)
	out    strings.Builder
	opens  int
	wg     sync.WaitGroup
}

func (f *fakeTerminal) open() (*device, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.opens >= len(f.inputs) {
		f.t.Error("terminal opened more often than the test expected")
		return nil, errors.New("no more input")
	}
	input := f.inputs[f.opens]
	f.opens++
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	if input != nil {
		io.WriteString(inW, *input)
		inW.Close()
	} else {
		f.t.Cleanup(func() { inW.Close() })
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		b, _ := io.ReadAll(outR)
		f.mu.Lock()
		f.out.Write(b)
		f.mu.Unlock()
	}()
	return &device{in: inR, out: outW}, nil
}

// output waits for every device to be closed and returns all that was written.
func (f *fakeTerminal) output() string {
	f.wg.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.out.String()
}

func lines(in ...string) []*string {
	var p []*string
	for i := range in {
		p = append(p, &in[i])
	}
	return p
}

func TestTerminalAsksOnTheDevice(t *testing.T) {
	ft := &fakeTerminal{t: t, inputs: lines("123456\n")}
	code, err := terminalSource(ft.open).Func(context.Background(), serial)
	if err != nil || code != "123456" {
		t.Fatalf("Func = %q, %v", code, err)
	}
	if got, want := ft.output(), "Enter MFA code for "+serial+": "; got != want {
		t.Errorf("terminal shows %q, want %q", got, want)
	}
}

func TestTerminalReasksMalformedAndAfterRejection(t *testing.T) {
	ft := &fakeTerminal{t: t, inputs: lines("12 34\n", "111111\r\n", "222222\n")}
	src := terminalSource(ft.open)
	if !src.Interactive || src.Name != "terminal" {
		t.Fatalf("terminal source = %+v", src)
	}
	code, err := src.Func(context.Background(), serial)
	if err != nil || code != "111111" {
		t.Fatalf("Func = %q, %v", code, err)
	}
	if !src.Rejected(serial, errRejected) {
		t.Fatal("Rejected = false after 2 tries")
	}
	if code, err = src.Func(context.Background(), serial); err != nil || code != "222222" {
		t.Fatalf("Func after rejection = %q, %v", code, err)
	}
	out := ft.output()
	for _, want := range []string{"4 digits were entered. Try again (try 2 of 3).\nEnter MFA code for", "AWS rejected that code", "try 3 of 3"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "Enter MFA code for "+serial+": ") != 3 {
		t.Errorf("want 3 prompts:\n%s", out)
	}
}

func TestTerminalEndOfInputCancels(t *testing.T) {
	ft := &fakeTerminal{t: t, inputs: lines("")}
	_, err := terminalSource(ft.open).Func(context.Background(), serial)
	if !errors.Is(err, ErrCanceled) {
		t.Fatalf("err = %v, want ErrCanceled", err)
	}
	if out := ft.output(); !strings.HasSuffix(out, ": \n") {
		t.Errorf("the prompt line is not ended after Ctrl-D: %q", out)
	}
}

func TestTerminalCancelDoesNotHang(t *testing.T) {
	ft := &fakeTerminal{t: t, inputs: []*string{nil}}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := terminalSource(ft.open).Func(ctx, serial)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	var ie *InterruptedError
	if !errors.As(err, &ie) || err.Error() != "interrupted while asking for the MFA code for "+serial || ie.ExitCode() != 130 {
		t.Errorf("err = %v; want an InterruptedError naming the MFA code, exit 130", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("cancel took %v", d)
	}
	ft.output()
	// The terminal is free again for the next prompt.
	ft.inputs = append(ft.inputs, lines("654321\n")...)
	if code, err := terminalSource(ft.open).Func(context.Background(), serial); code != "654321" || err != nil {
		t.Errorf("next prompt = %q, %v", code, err)
	}
}

func TestTerminalMissing(t *testing.T) {
	src := terminalSource(func() (*device, error) { return nil, errors.New("open /dev/tty: no such device or address") })
	_, err := src.Func(context.Background(), serial)
	if !errors.Is(err, ErrNoTerminal) {
		t.Fatalf("err = %v, want ErrNoTerminal", err)
	}
}

func TestReadHiddenNeedsATerminal(t *testing.T) {
	ft := &fakeTerminal{t: t, inputs: lines("secret\n")}
	_, err := withTerminal(context.Background(), ft.open, "the passphrase", "Passphrase: ", readHidden)
	if err == nil || !strings.Contains(err.Error(), "hide input") {
		t.Fatalf("err = %v; reading a secret from a non-terminal must fail rather than echo", err)
	}
}

func TestEditHidden(t *testing.T) {
	for _, tc := range []struct {
		name, keys, want string
		err              error
	}{
		{"enter", "s3cret\r", "s3cret", nil},
		{"newline", "s3cret\n", "s3cret", nil},
		{"spaces kept", " pass word \r", " pass word ", nil},
		{"backspace", "abx\x7fc\r", "abc", nil},
		{"windows backspace", "abx\x08c\r", "abc", nil},
		{"backspace on empty", "\x7f\x7fab\r", "ab", nil},
		{"backspace multibyte", "aé\x7f\r", "a", nil},
		{"ctrl-u", "wrong\x15right\r", "right", nil},
		{"arrow keys dropped", "a\x1b[Db\x1b[1;5Cc\x1bOAd\r", "abcd", nil},
		{"alt chord dropped", "a\x1bxb\r", "ab", nil},
		{"other control dropped", "a\x01\x02b\r", "ab", nil},
		{"ctrl-c", "abc\x03def\r", "", ErrCanceled},
		{"ctrl-d empty", "\x04", "", ErrCanceled},
		{"ctrl-d not empty ignored", "ab\x04c\r", "abc", nil},
		{"eof empty", "", "", ErrCanceled},
		{"eof with text", "abc", "abc", nil},
	} {
		got, err := editHidden(byteReader(strings.NewReader(tc.keys)))
		if got != tc.want || !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
			t.Errorf("%s: editHidden(%q) = %q, %v; want %q, %v", tc.name, tc.keys, got, err, tc.want, tc.err)
		}
	}
	if _, err := editHidden(byteReader(strings.NewReader(strings.Repeat("a", maxInput+1)))); err == nil {
		t.Error("no limit on input length")
	}
}
