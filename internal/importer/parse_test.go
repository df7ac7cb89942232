package importer

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// parseAll reads a CSV file as an import does, household by household.
func parseAll(data []byte) (households int, problems []Problem, err error) {
	rows, err := openRows(bytes.NewReader(data), int64(len(data)), "csv")
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	rec, err := rows.Next()
	if err != nil {
		return 0, nil, err
	}
	cols, err := header(rec, Columns)
	if err != nil {
		return 0, nil, err
	}
	var group []line
	key := ""
	flush := func() {
		if len(group) > 0 {
			_, ps := build(group, time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC))
			problems = append(problems, ps...)
			households++
		}
		group = nil
	}
	for n := 2; ; n++ {
		rec, err := rows.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return households, problems, err
		}
		l := line{number: n, get: getter(rec, cols)}
		if k := l.get("commune_code") + "\x00" + l.get("household_code"); k != key {
			flush()
			key = k
		}
		group = append(group, l)
	}
	flush()
	return households, problems, nil
}

// Text no database would take is a row problem, not a crash or a write.
func TestParseRefusesBadText(t *testing.T) {
	file := csvHead + "30791,A#1,Ấp 1,,rural,,không,Nguyễn Văn A,1978,male,,head,1,không,không\n" +
		"30791,B-1,Ấp 1,,rural,,không,Nguy\xeal,1978,male,,head,1,không,không\n" +
		"30791,C-1,Ấp 1,,rural,,không,Nguyễn Văn C,1978,male,,head,1,không,không,\n" +
		"30791,D-1,Ấp\x001,,rural,,không,Nguyễn Văn D,1978,male,,head,1,không,không\n" +
		"30791,E-1,Ấp 1,," + strings.Repeat("x", 400) + ",,không,Nguyễn Văn E,1978,male,,head,1,không,không\n"
	n, probs, err := parseAll([]byte(file))
	if err != nil || n != 5 {
		t.Fatalf("%d households, %v", n, err)
	}
	got := map[string]bool{}
	for _, p := range probs {
		got[p.Column+":"+p.Code] = true
	}
	for _, want := range []string{"household_code:invalid", "full_name:encoding", "village:invalid", "area_type:too_long"} {
		if !got[want] {
			t.Errorf("no %s problem in %+v", want, probs)
		}
	}
	// A line without an end stops the file with a clear problem.
	long := csvHead + "30791,\"" + strings.Repeat("y", maxLine+10)
	if _, _, err := parseAll([]byte(long)); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("an endless line: %v", err)
	}
}

// Whatever bytes a file holds, reading it never panics.
func FuzzParse(f *testing.F) {
	f.Add([]byte(csvHead + "30791,V-1,Ấp 1,,rural,,không,Nguyễn Văn A,1978,male,091078000001,head,1,không,không\n"))
	f.Add([]byte(csvHead + "30791,V-1,,,,,,Trần Thị B,1981-03-04,female,,spouse,x,có,y\n"))
	f.Add([]byte("commune_code,household_code\n\"unclosed"))
	f.Add([]byte(csvHead + "30791,V-1,Ấp 1,,rural,,không,A,19x8-13-45,?,12345,head,-1,2,3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, _ = parseAll(data)
	})
}

const csvHead = "commune_code,household_code,village,address,area_type,phone,ethnic_minority,full_name,birth_date,sex,id_number,relationship,ethnicity_code,disability,student\n"
