package attachment

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"strings"

	"github.com/gabriel-vasile/mimetype"
	"golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// Content types an attachment may have, detected from its bytes.
const (
	TypeJPEG = "image/jpeg"
	TypePNG  = "image/png"
	TypeWebP = "image/webp"
	TypeHEIC = "image/heic"
	TypeHEIF = "image/heif"
	TypePDF  = "application/pdf"
)

// extensions are the file name endings a download gets, by type.
var extensions = map[string]string{TypeJPEG: ".jpg", TypePNG: ".png", TypeWebP: ".webp", TypeHEIC: ".heic",
	TypeHEIF: ".heif", TypePDF: ".pdf"}

// sniff detects the content type from the first bytes, ignoring any name or
// header the client sent; "" for a type that is not accepted at all.
func sniff(head []byte) string {
	m := mimetype.Detect(head)
	for ; m != nil; m = m.Parent() {
		if _, ok := extensions[m.String()]; ok {
			return m.String()
		}
	}
	return ""
}

// sniffLen is how much of a file sniff needs.
const sniffLen = 3072

// isImage reports whether a type is a photo.
func isImage(contentType string) bool { return contentType != TypePDF && contentType != "" }

var errMalformed = errors.New("the file is damaged or not what its first bytes claim")

// stripJPEG copies a JPEG without its metadata segments that may hold a
// location or other personal data: EXIF and XMP (APP1), Photoshop/IPTC
// (APP13). The image data is copied untouched, so nothing is re-encoded. When
// the EXIF orientation is not the default it is kept, in a minimal EXIF block
// of its own, so the photo still shows the right way up.
func stripJPEG(dst io.Writer, src io.Reader) error {
	r := bufio.NewReaderSize(src, 64<<10)
	var soi [2]byte
	if _, err := io.ReadFull(r, soi[:]); err != nil || soi != [2]byte{0xFF, 0xD8} {
		return errMalformed
	}
	if _, err := dst.Write(soi[:]); err != nil {
		return err
	}
	orientationWritten := false
	for {
		// A marker: one or more 0xFF, then its code.
		b, err := r.ReadByte()
		if err != nil {
			return errMalformed
		}
		if b != 0xFF {
			return errMalformed
		}
		code := byte(0xFF)
		for code == 0xFF {
			if code, err = r.ReadByte(); err != nil {
				return errMalformed
			}
		}
		if code == 0xD9 || (code >= 0xD0 && code <= 0xD7) || code == 0x01 { // EOI, RSTn, TEM: no length
			if _, err := dst.Write([]byte{0xFF, code}); err != nil {
				return err
			}
			if code == 0xD9 {
				return nil
			}
			continue
		}
		var lenBuf [2]byte
		if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
			return errMalformed
		}
		n := int(binary.BigEndian.Uint16(lenBuf[:]))
		if n < 2 {
			return errMalformed
		}
		if code == 0xDA { // start of scan: image data follows, copied as is up to the end of the image
			if _, err := dst.Write([]byte{0xFF, code, lenBuf[0], lenBuf[1]}); err != nil {
				return err
			}
			return copyToEOI(dst, r)
		}
		payload := make([]byte, n-2)
		if _, err := io.ReadFull(r, payload); err != nil {
			return errMalformed
		}
		drop := false
		switch {
		case code == 0xE1 && bytes.HasPrefix(payload, []byte("Exif\x00\x00")):
			drop = true
			if o := exifOrientation(payload[6:]); o > 1 && o <= 8 && !orientationWritten {
				if _, err := dst.Write(orientationSegment(o)); err != nil {
					return err
				}
				orientationWritten = true
			}
		case code == 0xE1: // XMP and extended XMP
			drop = true
		case code == 0xED: // Photoshop IRB with IPTC
			drop = true
		case code == 0xE2 && bytes.HasPrefix(payload, []byte("MPF\x00")): // the index of the images dropped below
			drop = true
		}
		if drop {
			continue
		}
		if _, err := dst.Write([]byte{0xFF, code, lenBuf[0], lenBuf[1]}); err != nil {
			return err
		}
		if _, err := dst.Write(payload); err != nil {
			return err
		}
	}
}

// copyToEOI copies entropy-coded data and the markers between scans up to
// and including the end-of-image marker, and drops whatever follows it: the
// secondary images phones append (MPF previews, HDR gain maps) carry EXIF and
// a location of their own. In scan data a 0xFF byte is always followed by
// 0x00 or a restart marker, so the first 0xFF 0xD9 is the image's end.
func copyToEOI(dst io.Writer, r *bufio.Reader) error {
	buf := make([]byte, 64<<10)
	prevFF := false
	for {
		n, err := r.Read(buf)
		chunk := buf[:n]
		for i, b := range chunk {
			if prevFF && b == 0xD9 {
				_, werr := dst.Write(chunk[:i+1])
				return werr
			}
			prevFF = b == 0xFF
		}
		if _, werr := dst.Write(chunk); werr != nil {
			return werr
		}
		if errors.Is(err, io.EOF) {
			return errMalformed // no end of image
		}
		if err != nil {
			return err
		}
	}
}

// exifOrientation reads the Orientation tag (0x0112) of IFD0 from a TIFF
// structure; 0 when there is none or it cannot be read.
func exifOrientation(tiff []byte) int {
	if len(tiff) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(tiff[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	off := int(bo.Uint32(tiff[4:8]))
	if off < 8 || off+2 > len(tiff) {
		return 0
	}
	count := int(bo.Uint16(tiff[off:]))
	for i := 0; i < count; i++ {
		e := off + 2 + 12*i
		if e+12 > len(tiff) {
			return 0
		}
		if bo.Uint16(tiff[e:]) == 0x0112 && bo.Uint16(tiff[e+2:]) == 3 {
			return int(bo.Uint16(tiff[e+8:]))
		}
	}
	return 0
}

// orientationSegment is an APP1 EXIF segment holding only the orientation.
func orientationSegment(o int) []byte {
	tiff := []byte{'M', 'M', 0, 42, 0, 0, 0, 8, // header, IFD0 at 8
		0, 1, // one entry
		0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, byte(o), 0, 0, // Orientation SHORT 1 = o
		0, 0, 0, 0} // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

// stripPNG copies a PNG without its eXIf chunk and its text chunks (tEXt,
// zTXt, iTXt: where XMP and other metadata live).
func stripPNG(dst io.Writer, src io.Reader) error {
	r := bufio.NewReaderSize(src, 64<<10)
	sig := make([]byte, 8)
	if _, err := io.ReadFull(r, sig); err != nil || string(sig) != "\x89PNG\r\n\x1a\n" {
		return errMalformed
	}
	if _, err := dst.Write(sig); err != nil {
		return err
	}
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return errMalformed
		}
		n := int64(binary.BigEndian.Uint32(hdr[:4]))
		typ := string(hdr[4:])
		if n > 1<<31 {
			return errMalformed
		}
		switch typ {
		case "eXIf", "tEXt", "zTXt", "iTXt":
			if _, err := io.CopyN(io.Discard, r, n+4); err != nil {
				return errMalformed
			}
			continue
		}
		if _, err := dst.Write(hdr[:]); err != nil {
			return err
		}
		if _, err := io.CopyN(dst, r, n+4); err != nil {
			return errMalformed
		}
		if typ == "IEND" {
			return nil
		}
	}
}

// stripWebP copies a WebP without its EXIF and XMP chunks, clearing their
// flags in the VP8X header and fixing the RIFF size.
func stripWebP(dst io.Writer, src io.Reader) error {
	// WebP's RIFF size comes first; photos are small enough to hold.
	all, err := io.ReadAll(src)
	if err != nil {
		return err
	}
	if len(all) < 12 || string(all[:4]) != "RIFF" || string(all[8:12]) != "WEBP" {
		return errMalformed
	}
	end := len(all)
	if declared := int64(binary.LittleEndian.Uint32(all[4:8])) + 8; declared < int64(end) {
		end = int(declared) // anything after the RIFF container is not part of the image
	}
	all = all[:end]
	out := []byte("RIFF\x00\x00\x00\x00WEBP")
	for p := 12; p < len(all); {
		if p+8 > len(all) {
			return errMalformed
		}
		fourcc := string(all[p : p+4])
		n := int(binary.LittleEndian.Uint32(all[p+4 : p+8]))
		end := p + 8 + n + n%2
		if n < 0 || end > len(all) || end < p {
			return errMalformed
		}
		chunk := all[p:end]
		p = end
		switch fourcc {
		case "EXIF", "XMP ":
			continue
		case "VP8X":
			if n < 1 {
				return errMalformed
			}
			chunk = append([]byte(nil), chunk...)
			chunk[8] &^= 0x08 | 0x04 // EXIF and XMP present
		}
		out = append(out, chunk...)
	}
	binary.LittleEndian.PutUint32(out[4:8], uint32(len(out)-8))
	_, err = dst.Write(out)
	return err
}

// stripper is the metadata remover for a type; nil when the type has none
// this package can remove.
func stripper(contentType string) func(io.Writer, io.Reader) error {
	switch contentType {
	case TypeJPEG:
		return stripJPEG
	case TypePNG:
		return stripPNG
	case TypeWebP:
		return stripWebP
	}
	return nil
}

// Thumbnails fit in a square of this side.
const thumbSide = 320

// maxPixels refuses to decode images that would take too much memory (a
// decompression bomb, or a panorama): no thumbnail for those.
const maxPixels = 50_000_000

var errThumbUnavailable = errors.New("no thumbnail for this file")

// thumbnail makes a small JPEG of a photo, turned upright by its EXIF
// orientation; errNoThumbnail for what cannot be decoded here (HEIC, PDF, huge).
func thumbnail(contentType string, src io.ReadSeeker, orientation int) ([]byte, error) {
	var decode func(io.Reader) (image.Image, error)
	var config func(io.Reader) (image.Config, error)
	switch contentType {
	case TypeJPEG:
		decode, config = jpeg.Decode, jpeg.DecodeConfig
	case TypePNG:
		decode, config = png.Decode, png.DecodeConfig
	case TypeWebP:
		decode, config = webp.Decode, webp.DecodeConfig
	default:
		return nil, errThumbUnavailable
	}
	cfg, err := config(bufio.NewReader(src))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errMalformed, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxPixels {
		return nil, errThumbUnavailable
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	img, err := decode(bufio.NewReader(src))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errMalformed, err)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > thumbSide || h > thumbSide {
		if w >= h {
			w, h = thumbSide, max(1, h*thumbSide/b.Dx())
		} else {
			w, h = max(1, w*thumbSide/b.Dy()), thumbSide
		}
	}
	small := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.ApproxBiLinear.Scale(small, small.Bounds(), img, b, draw.Src, nil)
	out := orient(small, orientation)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, out, &jpeg.Options{Quality: 80}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// orient turns an image by an EXIF orientation (1-8).
func orient(src *image.RGBA, o int) image.Image {
	if o < 2 || o > 8 {
		return src
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var dx, dy int
			switch o {
			case 2:
				dx, dy = w-1-x, y
			case 3:
				dx, dy = w-1-x, h-1-y
			case 4:
				dx, dy = x, h-1-y
			case 5:
				dx, dy = y, x
			case 6:
				dx, dy = h-1-y, x
			case 7:
				dx, dy = h-1-y, w-1-x
			case 8:
				dx, dy = y, w-1-x
			}
			dst.SetRGBA(dx, dy, src.RGBAAt(x, y))
		}
	}
	return dst
}

// jpegOrientation finds the EXIF orientation of a JPEG's first segments.
func jpegOrientation(head []byte) int {
	if len(head) < 4 || head[0] != 0xFF || head[1] != 0xD8 {
		return 0
	}
	p := 2
	for p+4 <= len(head) && head[p] == 0xFF {
		code := head[p+1]
		n := int(binary.BigEndian.Uint16(head[p+2:]))
		if code == 0xDA || n < 2 || p+2+n > len(head) {
			return 0
		}
		seg := head[p+4 : p+2+n]
		if code == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return exifOrientation(seg[6:])
		}
		p += 2 + n
	}
	return 0
}

// sniffName names any detected type, accepted or not ("text/plain").
func sniffName(head []byte) string {
	s := mimetype.Detect(head).String()
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	return s
}
