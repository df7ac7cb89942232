package household

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// A household's field is declared once, on Household with its tags
// (fields.go); the store's statements, the audit view and the PATCH body are
// derived from them, and the DTOs map to and from the model in one place
// each. These tests fail when a field is added in one place and forgotten in
// another: a model field without a column tag, a column the responses do
// not show, one a registration cannot set, a DTO field the mapping drops.

// fill sets every field of the struct v points to (members aside) to a
// distinct value that is not zero.
func fill(t *testing.T, v reflect.Value) {
	t.Helper()
	v = v.Elem()
	day := time.Date(2024, 5, 6, 0, 0, 0, 0, time.UTC)
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		switch f.Interface().(type) {
		case uuid.UUID:
			f.Set(reflect.ValueOf(uuid.New()))
		case *uuid.UUID:
			id := uuid.New()
			f.Set(reflect.ValueOf(&id))
		case bool:
			f.SetBool(true)
		case int:
			f.SetInt(int64(7 + i))
		case *int:
			n := 7 + i
			f.Set(reflect.ValueOf(&n))
		case time.Time:
			f.Set(reflect.ValueOf(day.AddDate(0, 0, i)))
		case *time.Time:
			d := day.AddDate(0, 0, i)
			f.Set(reflect.ValueOf(&d))
		default:
			switch {
			case f.Kind() == reflect.String:
				f.SetString("v-" + name)
			case name != "Members" && name != "IDNumber":
				t.Fatalf("%s.%s: no test value for %s", v.Type().Name(), name, f.Type())
			}
		}
	}
}

func TestEveryFieldIsAColumnInEveryStatement(t *testing.T) {
	t.Run("household", func(t *testing.T) {
		checkStatements(t, "households", householdFields, householdColumns, householdInsert, householdUpdate, "Members", 2, 2)
	})
	t.Run("member", func(t *testing.T) {
		// The ID number is sealed into three columns by hand (store.seal).
		checkStatements(t, "members", memberFields, strings.TrimSuffix(memberColumns, ", members.id_sealed"), memberInsert,
			memberUpdate, "IDNumber", len(sealedColumns), len(sealedColumns)+1)
	})
}

// checkStatements checks that every field of T but the one named untagged
// is a column, selected, scanned, inserted and updated as its tags say, and
// that each statement gets a value per parameter (extra: the values of the
// INSERT after the tagged columns; more: the UPDATE's after them).
func checkStatements[T any](t *testing.T, table string, fs fields[T], selectList string, ins inserts, update, untagged string, extra, more int) {
	rt := reflect.TypeFor[T]()
	for i := range rt.NumField() {
		if sf := rt.Field(i); sf.Tag.Get("db") == "" && sf.Name != untagged {
			t.Errorf("%s.%s has no db tag: it would be neither stored nor read", rt.Name(), sf.Name)
		}
	}
	selected := strings.Split(selectList, table+".")[1:]
	if n := len(fs.dest(new(T))); len(selected) != len(fs) || n != len(selected) {
		t.Fatalf("%d columns, %d selected, %d scanned", len(fs), len(selected), n)
	}
	insertCols, _, _ := strings.Cut(strings.TrimPrefix(ins.head, "INSERT INTO "+table+" ("), ")")
	arrayCols, _, _ := strings.Cut(strings.TrimPrefix(ins.arrays, "INSERT INTO "+table+" ("), ")")
	set, _, _ := strings.Cut(update, " WHERE ")
	for i, f := range fs {
		if !strings.HasPrefix(selected[i], f.name) {
			t.Errorf("%s: selected as %q", f.name, selected[i])
		}
		if got := strings.Contains(set, " "+f.name+" = ?"); got != f.update {
			t.Errorf("%s: in the UPDATE %v, tagged update %v", f.name, got, f.update)
		}
		if got := strings.Contains(", "+insertCols+",", ", "+f.name+","); got != f.insert {
			t.Errorf("%s: in the INSERT %v, tagged insert %v", f.name, got, f.insert)
		}
	}
	if arrayCols != insertCols {
		t.Errorf("the two INSERTs name different columns: %q, %q", insertCols, arrayCols)
	}
	// One value per parameter.
	var x T
	fill(t, reflect.ValueOf(&x))
	if n, want := len(columnValues(fs, &x, inserted, make([]any, extra)...)), strings.Count(ins.one(), "?"); n != want {
		t.Errorf("INSERT: %d values for %d parameters", n, want)
	}
	if n, want := len(columnValues(fs, &x, updated, make([]any, more)...)), strings.Count(update, "?"); n != want {
		t.Errorf("UPDATE: %d values for %d parameters", n, want)
	}
	if n, want := len(columnArrays(fs, []T{x}))+extra, len(strings.Split(insertCols, ", ")); n != want {
		t.Errorf("INSERT from arrays: %d arrays for %d columns", n, want)
	}
}

func TestHouseholdDTOsCarryEveryColumn(t *testing.T) {
	// HouseholdIn -> model: every field of the request reaches the model
	// (household), and every column a registration writes comes from the
	// request (but the area's path, which the commune gives).
	var in HouseholdIn
	fill(t, reflect.ValueOf(&in))
	h := reflect.ValueOf(in.household())
	it := reflect.TypeFor[HouseholdIn]()
	given := map[string]bool{}
	for i := range it.NumField() {
		name := jsonName(it.Field(i))
		if name == "members" {
			continue
		}
		given[name] = true
		f, ok := householdFields.named(name)
		if !ok || !f.insert {
			t.Errorf("HouseholdIn.%s: no insert column %q in Household", it.Field(i).Name, name)
			continue
		}
		if name == "established_on" {
			continue // a date typed as text: NewHousehold parses it (TestValidTime)
		}
		want := reflect.Indirect(reflect.ValueOf(in).Field(i)).Interface()
		if got := h.Field(f.index).Interface(); got != want {
			t.Errorf("%s: HouseholdIn.household gives %v, want %v", name, got, want)
		}
	}
	for _, f := range householdFields {
		// The path and edition come from the commune the code names, not the client.
		if f.insert && !given[f.name] && f.name != "area_path" && f.name != "commune_edition" {
			t.Errorf("%s: a registration writes it, but HouseholdIn has no field %q", f.name, f.name)
		}
	}

	// model -> HouseholdOut: every column is shown, with its value.
	var full Household
	fill(t, reflect.ValueOf(&full))
	b, err := json.Marshal(householdOut(full, false))
	if err != nil {
		t.Fatal(err)
	}
	var shown map[string]any
	if err := json.Unmarshal(b, &shown); err != nil {
		t.Fatal(err)
	}
	for _, f := range householdFields {
		if v, ok := shown[f.name]; !ok || v == nil || v == "" || v == false || v == 0.0 {
			t.Errorf("%s: HouseholdOut shows %v", f.name, v)
		}
		delete(shown, f.name)
	}
	delete(shown, "members")
	if len(shown) > 0 {
		t.Errorf("HouseholdOut shows fields that are no column: %v", shown)
	}
}

func TestPatchTakesEveryPatchableField(t *testing.T) {
	var in HouseholdIn
	fill(t, reflect.ValueOf(&in))
	all, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]json.RawMessage
	if err := json.Unmarshal(all, &values); err != nil {
		t.Fatal(err)
	}
	body := map[string]json.RawMessage{}
	for _, f := range householdFields {
		if f.patch {
			body[f.name] = values[f.name]
		}
	}
	b, _ := json.Marshal(body)
	var p patchIn
	if err := p.UnmarshalJSON(b); err != nil {
		t.Fatalf("a PATCH of every patchable field: %v (its type: %v)", err, patchType)
	}
	patch := p.patch()
	if len(patch.Fields) != len(body) {
		t.Fatalf("patched %v, want the fields of %s", patch.Fields, b)
	}
	var h Household
	if err := householdFields.copyPatched(&h, &patch.To, patch.Fields); err != nil {
		t.Fatal(err)
	}
	want := reflect.ValueOf(in.household())
	for _, f := range householdFields {
		got := reflect.ValueOf(h).Field(f.index)
		if f.patch && got.Interface() != want.Field(f.index).Interface() || !f.patch && !got.IsZero() {
			t.Errorf("%s: patched to %v", f.name, got)
		}
	}
	// Any other field is refused as unknown, as by every strict body.
	for _, name := range []string{"code", "classification", "members", "nonsense"} {
		if err := p.UnmarshalJSON([]byte(`{"village": "x", "` + name + `": "y"}`)); err == nil || err.Error() != `json: unknown field "`+name+`"` {
			t.Errorf("a PATCH of %s: %v", name, err)
		}
	}
}

func TestAuditViewKeepsItsKeys(t *testing.T) {
	var h Household
	fill(t, reflect.ValueOf(&h))
	got := auditState(h)
	// The keys and values the trail has always kept.
	want := map[string]any{"code": h.Code, "commune": h.CommuneCode, "village": h.Village, "address": h.Address,
		"area_type": h.AreaType, "phone": h.Phone, "ethnic_minority": h.EthnicMinority, "classification": h.Classification,
		"classification_decision": h.ClassificationDecision, "classification_effective": h.ClassificationEffective,
		"status": h.Status, "archive_reason": h.ArchiveReason, "version": h.Version, "members": []map[string]any{}}
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s: %#v, want %#v", k, got[k], v)
		}
	}
	// Every column is audited unless its tag says audit:"-".
	for _, f := range householdFields {
		if _, ok := got[f.audit]; f.audit != "" && !ok {
			t.Errorf("%s: not in the audit view", f.name)
		}
	}
	for _, hidden := range []string{"id", "area_path", "created_at", "updated_at"} {
		if _, ok := got[hidden]; ok {
			t.Errorf("%s is in the audit view", hidden)
		}
	}
}

func TestMemberDTOsCarryEveryColumn(t *testing.T) {
	// MemberIn -> MemberFields: every field of the request reaches the
	// model's input (fields); every column a client sets comes from it.
	var in MemberIn
	fill(t, reflect.ValueOf(&in))
	got := reflect.ValueOf(in.fields())
	it := reflect.TypeFor[MemberIn]()
	given := map[string]bool{}
	for i := range it.NumField() {
		sf := it.Field(i)
		given[jsonName(sf)] = true
		if f := got.FieldByName(sf.Name); !f.IsValid() || f.Interface() != reflect.ValueOf(in).Field(i).Interface() {
			t.Errorf("MemberIn.%s: fields() gives %v", sf.Name, f)
		}
	}
	for _, f := range memberFields {
		// The birth year comes with the birth date; the household, status and
		// its date are the service's to set.
		if f.insert && f.update && !given[f.name] && f.name != "birth_year" {
			t.Errorf("%s: a client sets it, but MemberIn has no field %q", f.name, f.name)
		}
	}

	// model -> MemberOut: every column is shown (but the household's id, the
	// birth year inside birth_date, the status's date and the version).
	var m Member
	fill(t, reflect.ValueOf(&m))
	b, err := json.Marshal(householdOut(Household{Members: []Member{m}}, false).Members[0])
	if err != nil {
		t.Fatal(err)
	}
	var shown map[string]any
	if err := json.Unmarshal(b, &shown); err != nil {
		t.Fatal(err)
	}
	for _, f := range memberFields {
		switch f.name {
		case "household_id", "birth_year", "status_date", "version":
			continue
		}
		if v, ok := shown[f.name]; !ok || v == nil || v == "" || v == false || v == 0.0 {
			t.Errorf("%s: MemberOut shows %v", f.name, v)
		}
	}
}

func TestMemberAuditViewKeepsItsKeys(t *testing.T) {
	var m Member
	fill(t, reflect.ValueOf(&m))
	id := IDNumber{Kind: CCCD, Digits: "091078001234"}
	m.IDNumber = &id
	got := auditState(Household{Members: []Member{m}})["members"].([]map[string]any)[0]
	// The summary of a person the trail has always kept, the number masked.
	want := map[string]any{"id": m.ID, "full_name": m.FullName, "birth_year": m.BirthYear, "sex": m.Sex,
		"relationship": m.Relationship, "status": m.Status, "id_number": id.Masked()}
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s: %#v, want %#v", k, got[k], v)
		}
	}
	// Every column is audited unless its tag says audit:"-".
	for _, f := range memberFields {
		if _, ok := got[f.name]; (f.audit != "") != ok {
			t.Errorf("%s: in the audit view %v, tagged audit %q", f.name, ok, f.audit)
		}
	}
}

// A member's PATCH body takes every column a correction may change (tagged
// update; the birth year comes with the birth date), each as MemberIn has it.
func TestMemberPatchTakesEveryUpdatedColumn(t *testing.T) {
	in, patch := reflect.TypeFor[MemberIn](), reflect.TypeFor[memberPatchIn]()
	names := map[string]bool{}
	for i := range patch.NumField() {
		pf := patch.Field(i)
		names[jsonName(pf)] = true
		if f, ok := in.FieldByName(pf.Name); !ok || reflect.PointerTo(f.Type) != pf.Type && f.Type != pf.Type || jsonName(f) != jsonName(pf) {
			t.Errorf("memberPatchIn.%s is not MemberIn's field, optional", pf.Name)
		}
	}
	for _, f := range memberFields {
		if f.update && f.name != "birth_year" && !names[f.name] {
			t.Errorf("%s: a correction writes it, but memberPatchIn has no field %q", f.name, f.name)
		}
	}
}
