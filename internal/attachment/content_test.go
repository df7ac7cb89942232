package attachment

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"golang.org/x/image/webp"

	"github.com/ansinh/ansinh/internal/attachment/attachmenttest"
)

func TestSniffReadsTheBytesNotTheName(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		body []byte
		want string
	}{
		"jpeg":           {attachmenttest.JPEG(1), TypeJPEG},
		"png":            {attachmenttest.PNG(), TypePNG},
		"pdf":            {[]byte("%PDF-1.7\n1 0 obj\n<<>>\nendobj\n"), TypePDF},
		"text":           {[]byte("this is not a photo at all, whatever its name says"), ""},
		"html":           {[]byte("<!DOCTYPE html><html><script>alert(1)</script></html>"), ""},
		"zip":            {[]byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), ""},
		"webp":           {webpFixture(t, false), TypeWebP},
		"empty":          {nil, ""},
		"jpeg-lookalike": {[]byte{0xFF, 0xD8, 0xFF, 0xE0, 'n', 'o', 't'}, TypeJPEG}, // decoding refuses it later
	}
	for name, tc := range cases {
		if got := sniff(tc.body); got != tc.want {
			t.Errorf("%s: sniff = %q, want %q", name, got, tc.want)
		}
	}
}

func TestStripJPEGRemovesLocationKeepsPixelsAndOrientation(t *testing.T) {
	t.Parallel()
	orig := attachmenttest.JPEG(6)
	if has, err := attachmenttest.HasLocation(orig); err != nil || !has {
		t.Fatalf("the fixture must carry a location: %v %v", has, err)
	}
	var out bytes.Buffer
	if err := stripJPEG(&out, bytes.NewReader(orig)); err != nil {
		t.Fatal(err)
	}
	got := out.Bytes()
	if has, err := attachmenttest.HasLocation(got); err != nil || has {
		t.Fatalf("the cleaned photo still carries a location (%v)", err)
	}
	tags, err := attachmenttest.Tags(got)
	if err != nil || tags["Orientation"] != "6" {
		t.Fatalf("the orientation must survive: %v %v", tags, err)
	}
	// The compressed image data is copied untouched.
	sos := func(b []byte) []byte { return b[bytes.Index(b, []byte{0xFF, 0xDA}):] }
	if !bytes.Equal(sos(orig), sos(got)) {
		t.Fatal("the scan data changed: stripping must not re-encode")
	}
	a, err1 := jpeg.Decode(bytes.NewReader(orig))
	b, err2 := jpeg.Decode(bytes.NewReader(got))
	if err1 != nil || err2 != nil || a.Bounds() != b.Bounds() {
		t.Fatalf("decode: %v %v", err1, err2)
	}
	// A secondary image appended after the end of the first (an MPF preview,
	// an HDR gain map) carries its own EXIF and location: it goes too.
	withTrailer := append(append([]byte{}, orig...), attachmenttest.JPEG(1)...)
	out.Reset()
	if err := stripJPEG(&out, bytes.NewReader(withTrailer)); err != nil {
		t.Fatal(err)
	}
	if has, _ := attachmenttest.HasLocation(out.Bytes()); has || !bytes.Equal(out.Bytes(), got) {
		t.Fatal("the appended image must be dropped with its location")
	}
	// Upright photos need no EXIF at all.
	out.Reset()
	if err := stripJPEG(&out, bytes.NewReader(attachmenttest.JPEG(1))); err != nil {
		t.Fatal(err)
	}
	if tags, _ := attachmenttest.Tags(out.Bytes()); len(tags) != 0 {
		t.Fatalf("no EXIF expected, got %v", tags)
	}
	for _, bad := range [][]byte{nil, []byte("GIF89a"), orig[:30], {0xFF, 0xD8, 0x00}, orig[:len(orig)-2]} {
		if err := stripJPEG(&bytes.Buffer{}, bytes.NewReader(bad)); err == nil {
			t.Errorf("a damaged JPEG must be refused: % x", bad[:min(len(bad), 8)])
		}
	}
}

func TestStripPNGRemovesExif(t *testing.T) {
	t.Parallel()
	orig := attachmenttest.PNG()
	if has, _ := attachmenttest.HasLocation(orig); !has {
		t.Fatal("the fixture must carry a location")
	}
	if _, err := png.Decode(bytes.NewReader(orig)); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	var out bytes.Buffer
	if err := stripPNG(&out, bytes.NewReader(orig)); err != nil {
		t.Fatal(err)
	}
	if has, err := attachmenttest.HasLocation(out.Bytes()); err != nil || has {
		t.Fatalf("location left in the PNG (%v)", err)
	}
	if bytes.Contains(out.Bytes(), []byte("eXIf")) {
		t.Fatal("eXIf chunk left")
	}
	if _, err := png.Decode(bytes.NewReader(out.Bytes())); err != nil {
		t.Fatalf("the cleaned PNG must decode: %v", err)
	}
}

// webpFixture is a 1x1 lossless WebP, optionally in an extended (VP8X)
// container with an EXIF chunk holding a GPS position.
func webpFixture(t *testing.T, withExif bool) []byte {
	simple, err := base64.StdEncoding.DecodeString("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")
	if err != nil {
		t.Fatal(err)
	}
	if !withExif {
		return simple
	}
	chunk := func(fourcc string, data []byte) []byte {
		c := append([]byte(fourcc), 0, 0, 0, 0)
		binary.LittleEndian.PutUint32(c[4:], uint32(len(data)))
		c = append(c, data...)
		if len(data)%2 == 1 {
			c = append(c, 0)
		}
		return c
	}
	vp8x := []byte{0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0} // EXIF flag, canvas 1x1
	body := append([]byte("WEBP"), chunk("VP8X", vp8x)...)
	body = append(body, simple[12:]...) // the VP8L chunk
	body = append(body, chunk("EXIF", attachmenttest.TIFF(1))...)
	out := append([]byte("RIFF"), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(out[4:], uint32(len(body)))
	return append(out, body...)
}

func TestStripWebPRemovesExif(t *testing.T) {
	t.Parallel()
	orig := webpFixture(t, true)
	if _, err := webp.Decode(bytes.NewReader(orig)); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	if has, _ := attachmenttest.HasLocation(orig); !has {
		t.Fatal("the fixture must carry a location")
	}
	var out bytes.Buffer
	if err := stripWebP(&out, bytes.NewReader(orig)); err != nil {
		t.Fatal(err)
	}
	got := out.Bytes()
	if has, _ := attachmenttest.HasLocation(got); has || bytes.Contains(got, []byte("EXIF")) {
		t.Fatal("EXIF left in the WebP")
	}
	if size := binary.LittleEndian.Uint32(got[4:8]); int(size) != len(got)-8 {
		t.Fatalf("RIFF size %d for %d bytes", size, len(got))
	}
	if got[20]&0x08 != 0 {
		t.Fatal("the VP8X EXIF flag must be cleared")
	}
	if _, err := webp.Decode(bytes.NewReader(got)); err != nil {
		t.Fatalf("the cleaned WebP must decode: %v", err)
	}
}

func TestThumbnailIsUprightAndSmall(t *testing.T) {
	t.Parallel()
	var enc bytes.Buffer
	if err := jpeg.Encode(&enc, attachmenttest.Picture(800, 400), nil); err != nil {
		t.Fatal(err)
	}
	for o, want := range map[int][2]int{1: {320, 160}, 6: {160, 320}, 8: {160, 320}, 3: {320, 160}} {
		b, err := thumbnail(TypeJPEG, bytes.NewReader(enc.Bytes()), o)
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil || img.Bounds().Dx() != want[0] || img.Bounds().Dy() != want[1] {
			t.Fatalf("orientation %d: %v %v, want %v", o, img.Bounds(), err, want)
		}
	}
	if _, err := thumbnail(TypePDF, bytes.NewReader([]byte("%PDF-1.4")), 0); err != errThumbUnavailable {
		t.Fatalf("no thumbnail of a PDF: %v", err)
	}
	if _, err := thumbnail(TypeJPEG, bytes.NewReader([]byte{0xFF, 0xD8, 0xFF, 0xE0, 'x'}), 0); err == nil ||
		!strings.Contains(err.Error(), "damaged") {
		t.Fatalf("an undecodable JPEG is damaged: %v", err)
	}
}

func TestCleanFileName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"C:\\Users\\an\\Ảnh nhà.jpg": "Ảnh nhà.jpg",
		"../../etc/passwd":           "passwd",
		"a\"b\x00c\n.pdf":            "abc.pdf",
		"...":                        "",
		"/":                          "",
		strings.Repeat("é", 150):     strings.Repeat("é", 100),
	} {
		if got := cleanFileName(in); got != want {
			t.Errorf("cleanFileName(%q) = %q, want %q", in, got, want)
		}
	}
	a := Attachment{FileName: "scan.pdf", ContentType: TypePNG}
	if got := DownloadName(a); got != "scan.png" {
		t.Errorf("a PNG named .pdf downloads as %q", got)
	}
}
