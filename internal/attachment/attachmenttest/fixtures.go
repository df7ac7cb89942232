// Package attachmenttest makes the files attachment tests need: photos with
// a GPS position in their EXIF, and a reader of EXIF that is not ours
// (dsoprea/go-exif), so that a test of metadata removal does not trust the
// code it tests.
package attachmenttest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"

	exif "github.com/dsoprea/go-exif/v3"
)

// Picture is a small photo with some detail, so that its encoding is not trivial.
func Picture(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x ^ y) & 0xff), 255})
		}
	}
	return img
}

// Location is the place the fixtures were "taken": a commune of Kiên Giang.
const (
	LatDeg, LatMin, LatSec = 10, 1, 30
	LonDeg, LonMin, LonSec = 105, 5, 15
)

// TIFF is an EXIF structure (big-endian) with IFD0 holding the orientation
// and a pointer to a GPS IFD with latitude and longitude.
func TIFF(orientation int) []byte {
	be := binary.BigEndian
	var b bytes.Buffer
	w16 := func(v uint16) { binary.Write(&b, be, v) }
	w32 := func(v uint32) { binary.Write(&b, be, v) }
	b.WriteString("MM")
	w16(42)
	w32(8)
	// IFD0 at 8: 2 entries -> 2 + 24 + 4 = 30 bytes; the GPS IFD follows at 38.
	const gpsIFD = 8 + 2 + 2*12 + 4
	w16(2)
	w16(0x0112) // Orientation
	w16(3)
	w32(1)
	w16(uint16(orientation))
	w16(0)
	w16(0x8825) // GPSInfo
	w16(4)
	w32(1)
	w32(gpsIFD)
	w32(0)
	// GPS IFD: 4 entries -> 2 + 48 + 4 = 54 bytes; the rationals follow.
	const rats = gpsIFD + 2 + 4*12 + 4
	w16(4)
	w16(0x0001) // GPSLatitudeRef "N"
	w16(2)
	w32(2)
	b.WriteString("N\x00\x00\x00")
	w16(0x0002) // GPSLatitude
	w16(5)
	w32(3)
	w32(rats)
	w16(0x0003) // GPSLongitudeRef "E"
	w16(2)
	w32(2)
	b.WriteString("E\x00\x00\x00")
	w16(0x0004) // GPSLongitude
	w16(5)
	w32(3)
	w32(rats + 24)
	w32(0)
	for _, v := range []uint32{LatDeg, LatMin, LatSec, LonDeg, LonMin, LonSec} {
		w32(v)
		w32(1)
	}
	return b.Bytes()
}

// JPEG is a photo with EXIF (orientation and GPS) and an XMP packet that
// repeats the position, as phones write them.
func JPEG(orientation int) []byte {
	var enc bytes.Buffer
	if err := jpeg.Encode(&enc, Picture(64, 48), &jpeg.Options{Quality: 90}); err != nil {
		panic(err)
	}
	raw := enc.Bytes()
	seg := func(code byte, payload []byte) []byte {
		s := []byte{0xFF, code, 0, 0}
		binary.BigEndian.PutUint16(s[2:], uint16(len(payload)+2))
		return append(s, payload...)
	}
	xmp := append([]byte("http://ns.adobe.com/xap/1.0/\x00"),
		[]byte(`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description exif:GPSLatitude="10,1.5N" exif:GPSLongitude="105,5.25E"/></x:xmpmeta>`)...)
	out := append([]byte{}, raw[:2]...)
	out = append(out, seg(0xE1, append([]byte("Exif\x00\x00"), TIFF(orientation)...))...)
	out = append(out, seg(0xE1, xmp)...)
	return append(out, raw[2:]...)
}

// PNG is a picture with an eXIf chunk holding a GPS position.
func PNG() []byte {
	var enc bytes.Buffer
	if err := png.Encode(&enc, Picture(40, 30)); err != nil {
		panic(err)
	}
	raw := enc.Bytes()
	// After the signature (8) and IHDR (8 + 13 + 4).
	at := 8 + 25
	data := TIFF(1)
	chunk := make([]byte, 8, 12+len(data))
	binary.BigEndian.PutUint32(chunk, uint32(len(data)))
	copy(chunk[4:], "eXIf")
	chunk = append(chunk, data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc(chunk[4:]))
	return append(append(append([]byte{}, raw[:at]...), chunk...), raw[at:]...)
}

func crc(b []byte) uint32 {
	var table [256]uint32
	for n := range table {
		c := uint32(n)
		for k := 0; k < 8; k++ {
			if c&1 == 1 {
				c = 0xEDB88320 ^ (c >> 1)
			} else {
				c >>= 1
			}
		}
		table[n] = c
	}
	c := ^uint32(0)
	for _, x := range b {
		c = table[byte(c)^x] ^ (c >> 8)
	}
	return ^c
}

// Tags are the EXIF tags go-exif finds in a file, by name ("GPSLatitude",
// "Orientation"); empty when the file has no EXIF.
func Tags(file []byte) (map[string]string, error) {
	raw, err := exif.SearchAndExtractExif(file)
	if errors.Is(err, exif.ErrNoExif) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	tags, _, err := exif.GetFlatExifData(raw, nil)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, t := range tags {
		out[t.TagName] = t.FormattedFirst
	}
	return out, nil
}

// HasLocation reports whether a file carries a GPS position anywhere a
// reader would look: EXIF GPS tags, or an XMP packet naming one.
func HasLocation(file []byte) (bool, error) {
	tags, err := Tags(file)
	if err != nil {
		return false, err
	}
	for name := range tags {
		if strings.HasPrefix(name, "GPS") {
			return true, nil
		}
	}
	return bytes.Contains(file, []byte("GPSLatitude")), nil
}
