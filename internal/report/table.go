package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// Column kinds decide how a cell is written: numbers stay numbers in Excel.
const (
	Text    = "text"
	Integer = "integer"
	Percent = "percent" // a rate in percent, two decimals
	Money   = "money"   // whole VND
)

// Column is one column of a table: a key for JSON, headers in both languages.
type Column struct {
	Key      string
	HeaderVI string
	HeaderEN string
	Kind     string
}

// Table is a report or a list as every format renders it.
type Table struct {
	TitleVI string
	TitleEN string
	Columns []Column
	Rows    [][]any
	Totals  []any  // optional: the totals row (nil cells left blank)
	Footer  string // who exported it and when (files only)
}

// JSONRows are the rows as objects keyed by column.
func (t Table) JSONRows(rows [][]any) []map[string]any {
	out := make([]map[string]any, 0, len(rows))
	for _, r := range rows {
		m := make(map[string]any, len(t.Columns))
		for i, c := range t.Columns {
			m[c.Key] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func cellText(v any, kind string) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		// A text that starts like a formula must not run as one when the CSV is
		// opened in a spreadsheet.
		if x != "" && strings.ContainsRune("=+-@\t\r", rune(x[0])) {
			return "'" + x
		}
		return x
	case float64:
		if kind == Percent {
			return strconv.FormatFloat(x, 'f', 2, 64)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

// WriteCSV writes the table as CSV with Vietnamese headers, a UTF-8 byte
// order mark (so Excel opens the diacritics right), the totals and the footer.
func (t Table) WriteCSV(w io.Writer) error {
	if _, err := w.Write([]byte{0xEF, 0xBB, 0xBF}); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	header := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		header[i] = c.HeaderVI
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	write := func(r []any) error {
		rec := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			rec[i] = cellText(r[i], c.Kind)
		}
		return cw.Write(rec)
	}
	for _, r := range t.Rows {
		if err := write(r); err != nil {
			return err
		}
	}
	if t.Totals != nil {
		if err := write(t.Totals); err != nil {
			return err
		}
	}
	if t.Footer != "" {
		if err := cw.Write([]string{t.Footer}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// XLSX builds the table as an Excel workbook: a title row, bold Vietnamese
// headers, numbers as numbers (percent and money formatted), a bold totals
// row, and the exporter in the page footer and under the table.
func (t Table) XLSX() ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	sheet := "Sheet1"
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return nil, err
	}
	style := func(numFmt int, b bool) int {
		id, _ := f.NewStyle(&excelize.Style{NumFmt: numFmt, Font: &excelize.Font{Bold: b}})
		return id
	}
	// Rates as 0.00 and money as #,##0; bold in the totals row.
	pct, money := map[bool]int{false: style(2, false), true: style(2, true)}, map[bool]int{false: style(3, false), true: style(3, true)}
	// The page footer is set before the stream starts: the stream writes the
	// sheet's settings as they are then, and one set after it is lost.
	if t.Footer != "" {
		if err := f.SetHeaderFooter(sheet, &excelize.HeaderFooterOptions{OddFooter: "&L" + t.Footer + "&RTrang &P/&N"}); err != nil {
			return nil, err
		}
	}
	// A stream writer: a province-wide list of hundreds of thousands of rows
	// goes to a temporary file row by row, not into a workbook in memory.
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return nil, err
	}
	for i, c := range t.Columns {
		if err := sw.SetColWidth(i+1, i+1, float64(max(10, min(40, len([]rune(c.HeaderVI))+2)))); err != nil {
			return nil, err
		}
	}
	if err := sw.SetRow("A1", []any{excelize.Cell{StyleID: bold, Value: t.TitleVI}}); err != nil {
		return nil, err
	}
	const headerRow = 3
	header := make([]any, len(t.Columns))
	for i, c := range t.Columns {
		header[i] = excelize.Cell{StyleID: bold, Value: c.HeaderVI}
	}
	cell, _ := excelize.CoordinatesToCellName(1, headerRow)
	if err := sw.SetRow(cell, header); err != nil {
		return nil, err
	}
	row := headerRow + 1
	put := func(r []any, totals bool) error {
		cells := make([]any, len(t.Columns))
		for i, c := range t.Columns {
			s := 0
			switch {
			case c.Kind == Percent:
				s = pct[totals]
			case c.Kind == Money:
				s = money[totals]
			case totals:
				s = bold
			}
			if r[i] == nil {
				cells[i] = nil
				continue
			}
			cells[i] = excelize.Cell{StyleID: s, Value: r[i]}
		}
		cell, _ := excelize.CoordinatesToCellName(1, row)
		row++
		return sw.SetRow(cell, cells)
	}
	for _, r := range t.Rows {
		if err := put(r, false); err != nil {
			return nil, err
		}
	}
	if t.Totals != nil {
		if err := put(t.Totals, true); err != nil {
			return nil, err
		}
	}
	if t.Footer != "" {
		cell, _ := excelize.CoordinatesToCellName(1, row+1)
		if err := sw.SetRow(cell, []any{t.Footer}); err != nil {
			return nil, err
		}
	}
	if err := sw.Flush(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
