// Package prompt provides the sources of MFA codes (terminal device, ykman,
// GUI dialogs, mfa_process, a fixed --mfa-token) behind one function type, and
// small helpers that read from the terminal device. Nothing here writes to
// stdout, so prompts are safe inside credential_process, whose stdout is JSON.
//
// # Asking again after AWS rejects a code
//
// A [Source] says whether it is Interactive: a person types each code, so a
// second try after STS rejects one can succeed. Sources that compute the code
// (ykman, mfa_process) or were handed one (--mfa-token) would only repeat the
// same mistake, so they are not. The caller reports a rejection with
// [Source.Rejected] and asks again only when it returns true:
//
//	for {
//		code, err := src.Func(ctx, serial)
//		if err != nil {
//			return err
//		}
//		err = callSTS(code)
//		if isMFARejection(err) && src.Rejected(serial, err) {
//			continue
//		}
//		return err
//	}
//
// An interactive source allows [MaxAttempts] codes per serial in all: codes it
// refuses itself (not six digits) count too, so a person is never asked more
// than three times in a row. The next ask after a rejection tells the person
// why they are asked again.
//
// When a call that carried a code got no usable answer (the connection broke,
// STS failed with a 5xx), AWS may have used the code. The caller reports that
// with [Source.ReplyLost]; an interactive source then asks for the next code,
// within the same budget, and the others are not asked again.
package prompt
