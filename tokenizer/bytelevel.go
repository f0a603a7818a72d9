package tokenizer

// GPT-2's byte-to-unicode map: every byte gets a printable rune so that a
// vocabulary of byte sequences can be stored as JSON strings. Printable
// Latin-1 bytes map to themselves; the other 68 (controls, space, 0x7f-0xa0,
// 0xad) map to U+0100 onwards in byte order. "Ġ" (U+0120) is the space.

var (
	byteToRune [256]rune
	// runeToByte is indexed by rune; -1 where the rune is not a byte's image.
	runeToByte [324]int16
	// byteToString holds string(byteToRune[b]) so encoding allocates nothing per byte.
	byteToString [256]string
)

func init() {
	for i := range runeToByte {
		runeToByte[i] = -1
	}
	printable := func(b int) bool {
		return (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff)
	}
	n := 0
	for b := 0; b < 256; b++ {
		r := rune(b)
		if !printable(b) {
			r = rune(256 + n)
			n++
		}
		byteToRune[b] = r
		runeToByte[r] = int16(b)
		byteToString[b] = string(r)
	}
}

// ByteLevelEncode returns the byte-level form of raw bytes: the string a
// byte-level BPE vocabulary stores (" hello" becomes "Ġhello").
func ByteLevelEncode(raw string) string {
	buf := make([]byte, 0, len(raw)*2)
	for i := 0; i < len(raw); i++ {
		buf = append(buf, byteToString[raw[i]]...)
	}
	return string(buf)
}

// ByteLevelDecode maps a byte-level string back to the bytes it stands for.
// ok is false when s holds a rune that is not the image of a byte; the
// result then is s's own bytes, as the Hugging Face ByteLevel decoder does.
func ByteLevelDecode(s string) (raw string, ok bool) {
	buf := make([]byte, 0, len(s))
	for _, r := range s {
		if r < 0 || int(r) >= len(runeToByte) || runeToByte[r] < 0 {
			return s, false
		}
		buf = append(buf, byte(runeToByte[r]))
	}
	return string(buf), true
}
