package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
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
	Totals  []any    // optional: the totals row (nil cells left blank)
	Notes   []string // optional: lines under the table (what a reader must know to read it)
	Chart   *Chart   // optional: a native chart beside the table (XLSX only)
	Footer  string   // who exported it and when (files only)
}

// Chart is a native Excel chart drawn beside a table, from its own data (on
// a sheet of their own): a category along the axis, a line or bar per
// series. A nil value is a gap: a line is not drawn across it.
type Chart struct {
	Kind       string // ChartLine or ChartBar
	TitleVI    string
	Categories []string
	Series     []ChartSeries
}

// ChartSeries is one line or set of bars of a chart.
type ChartSeries struct {
	Name   string
	Values []any // numbers, or nil for none
}

// Kinds of chart.
const (
	ChartLine = "line"
	ChartBar  = "bar"
)

// chartSheet is the sheet that holds a chart's data.
const chartSheet = "Bieu do"

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
	for _, n := range append(slices.Clone(t.Notes), t.Footer) {
		if n == "" {
			continue
		}
		if err := cw.Write([]string{n}); err != nil {
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
	if err := t.writeNotes(sw, row+1); err != nil {
		return nil, err
	}
	if err := sw.Flush(); err != nil {
		return nil, err
	}
	if t.Chart != nil {
		if err := t.Chart.draw(f, sheet, len(t.Columns)+2, headerRow); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeNotes writes the notes and the footer under the table from row on,
// a line each.
func (t Table) writeNotes(sw *excelize.StreamWriter, row int) error {
	for _, n := range append(slices.Clone(t.Notes), t.Footer) {
		if n == "" {
			continue
		}
		cell, _ := excelize.CoordinatesToCellName(1, row)
		row++
		if err := sw.SetRow(cell, []any{n}); err != nil {
			return err
		}
	}
	return nil
}

// draw writes the chart's data on a sheet of its own and draws the chart on
// sheet with its top left corner at column col, row row.
func (c *Chart) draw(f *excelize.File, sheet string, col, row int) error {
	if _, err := f.NewSheet(chartSheet); err != nil {
		return err
	}
	header := []any{""}
	for _, s := range c.Series {
		header = append(header, s.Name)
	}
	if err := f.SetSheetRow(chartSheet, "A1", &header); err != nil {
		return err
	}
	for i, cat := range c.Categories {
		values := []any{cat}
		for _, s := range c.Series {
			values = append(values, s.Values[i])
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := f.SetSheetRow(chartSheet, cell, &values); err != nil {
			return err
		}
	}
	last := len(c.Categories) + 1
	var series []excelize.ChartSeries
	for i := range c.Series {
		column, _ := excelize.ColumnNumberToName(i + 2)
		series = append(series, excelize.ChartSeries{
			Name:       fmt.Sprintf("'%s'!$%s$1", chartSheet, column),
			Categories: fmt.Sprintf("'%s'!$A$2:$A$%d", chartSheet, last),
			Values:     fmt.Sprintf("'%s'!$%s$2:$%s$%d", chartSheet, column, column, last),
			Marker:     excelize.ChartMarker{Symbol: "circle", Size: 5},
		})
	}
	kind := excelize.Line
	if c.Kind == ChartBar {
		kind = excelize.Col
	}
	anchor, _ := excelize.CoordinatesToCellName(col, row)
	return f.AddChart(sheet, anchor, &excelize.Chart{Type: kind, Series: series,
		Title:     excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: c.TitleVI}}},
		Dimension: excelize.ChartDimension{Width: 720, Height: 400},
		Legend:    excelize.ChartLegend{Position: "bottom"}})
}
