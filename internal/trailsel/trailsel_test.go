package trailsel

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

func basic(rw cttypes.ReadWriteType, mgmt *bool, excl ...string) cttypes.EventSelector {
	return cttypes.EventSelector{ReadWriteType: rw, IncludeManagementEvents: mgmt, ExcludeManagementEventSources: excl}
}

func data(rw cttypes.ReadWriteType, values ...string) cttypes.EventSelector {
	return cttypes.EventSelector{ReadWriteType: rw, IncludeManagementEvents: aws.Bool(false),
		DataResources: []cttypes.DataResource{{Type: aws.String("AWS::S3::Object"), Values: values}}}
}

func field(name string, f func(*cttypes.AdvancedFieldSelector)) cttypes.AdvancedFieldSelector {
	s := cttypes.AdvancedFieldSelector{Field: aws.String(name)}
	f(&s)
	return s
}

func equals(name string, v ...string) cttypes.AdvancedFieldSelector {
	return field(name, func(f *cttypes.AdvancedFieldSelector) { f.Equals = v })
}

func notEquals(name string, v ...string) cttypes.AdvancedFieldSelector {
	return field(name, func(f *cttypes.AdvancedFieldSelector) { f.NotEquals = v })
}

func adv(fs ...cttypes.AdvancedFieldSelector) cttypes.AdvancedEventSelector {
	return cttypes.AdvancedEventSelector{Name: aws.String("s"), FieldSelectors: fs}
}

var s3Data = adv(equals("eventCategory", "Data"), equals("resources.type", "AWS::S3::Object"))

func TestGaps(t *testing.T) {
	t.Parallel()
	yes, no := aws.Bool(true), aws.Bool(false)
	for _, c := range []struct {
		name string
		sel  Selectors
		gap  string // "" = records all management events
	}{
		{"default basic", Selectors{Basic: []cttypes.EventSelector{basic(cttypes.ReadWriteTypeAll, yes)}}, ""},
		{"AWS defaults when unset", Selectors{Basic: []cttypes.EventSelector{basic("", nil)}}, ""},
		{"write only", Selectors{Basic: []cttypes.EventSelector{basic(cttypes.ReadWriteTypeWriteOnly, yes)}}, "only write"},
		{"read only", Selectors{Basic: []cttypes.EventSelector{basic(cttypes.ReadWriteTypeReadOnly, yes)}}, "only read"},
		{"reads and writes in two selectors", Selectors{Basic: []cttypes.EventSelector{basic(cttypes.ReadWriteTypeReadOnly, yes), basic(cttypes.ReadWriteTypeWriteOnly, yes)}}, ""},
		{"management off", Selectors{Basic: []cttypes.EventSelector{basic(cttypes.ReadWriteTypeAll, no)}}, "not recorded"},
		{"data only", Selectors{Basic: []cttypes.EventSelector{data(cttypes.ReadWriteTypeAll, "arn:aws:s3:::b/")}}, "not recorded"},
		{"no selectors", Selectors{}, "not recorded"},
		{"excludes KMS", Selectors{Basic: []cttypes.EventSelector{basic(cttypes.ReadWriteTypeAll, yes, "kms.amazonaws.com")}}, "of kms.amazonaws.com are excluded"},
		{"excludes RDS data", Selectors{Basic: []cttypes.EventSelector{basic(cttypes.ReadWriteTypeAll, yes, "rdsdata.amazonaws.com")}}, "rdsdata.amazonaws.com"},
		{"exclusion made up by another selector", Selectors{Basic: []cttypes.EventSelector{basic(cttypes.ReadWriteTypeAll, yes, "kms.amazonaws.com"), basic(cttypes.ReadWriteTypeAll, yes)}}, ""},
		{"advanced management", Selectors{Advanced: []cttypes.AdvancedEventSelector{adv(equals("eventCategory", "Management"))}}, ""},
		{"advanced management and data", Selectors{Advanced: []cttypes.AdvancedEventSelector{s3Data, adv(equals("eventCategory", "Management"))}}, ""},
		{"advanced reads only", Selectors{Advanced: []cttypes.AdvancedEventSelector{adv(equals("eventCategory", "Management"), equals("readOnly", "true"))}}, "only read"},
		{"advanced writes only", Selectors{Advanced: []cttypes.AdvancedEventSelector{adv(equals("eventCategory", "Management"), equals("readOnly", "false"))}}, "only write"},
		{"advanced reads and writes apart", Selectors{Advanced: []cttypes.AdvancedEventSelector{
			adv(equals("eventCategory", "Management"), equals("readOnly", "false")), adv(equals("eventCategory", "Management"), equals("readOnly", "true"))}}, ""},
		{"advanced excludes KMS", Selectors{Advanced: []cttypes.AdvancedEventSelector{adv(equals("eventCategory", "Management"), notEquals("eventSource", "kms.amazonaws.com"))}}, "kms.amazonaws.com are excluded"},
		{"advanced one event source", Selectors{Advanced: []cttypes.AdvancedEventSelector{adv(equals("eventCategory", "Management"), equals("eventSource", "iam.amazonaws.com"))}}, "narrowed by eventSource"},
		{"advanced event names", Selectors{Advanced: []cttypes.AdvancedEventSelector{adv(equals("eventCategory", "Management"),
			field("eventName", func(f *cttypes.AdvancedFieldSelector) { f.StartsWith = []string{"Describe"} }))}}, "narrowed by eventName"},
		{"advanced data only", Selectors{Advanced: []cttypes.AdvancedEventSelector{s3Data}}, "not recorded"},
		{"advanced category NotEquals Data", Selectors{Advanced: []cttypes.AdvancedEventSelector{adv(notEquals("eventCategory", "Data"))}}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := strings.Join(Gaps(c.sel), "; ")
			if c.gap == "" && got != "" || c.gap != "" && !strings.Contains(got, c.gap) {
				t.Fatalf("Gaps = %q, want %q", got, c.gap)
			}
			if RecordsAllManagement(c.sel) != (c.gap == "") {
				t.Fatal("RecordsAllManagement disagrees with Gaps")
			}
			fix, err := Restore(c.sel)
			if err != nil {
				t.Fatal(err)
			}
			if !RecordsAllManagement(fix) || Valid(fix) != nil || fix.IsAdvanced() != c.sel.IsAdvanced() {
				t.Fatalf("restore %+v does not record everything in the same form, or AWS would refuse it", fix)
			}
		})
	}
}

// TestRestoreBasicStaysWithinFive covers a gap of moto 5.2.1, which accepts
// any number of basic event selectors where AWS refuses a sixth: the restore
// never asks for more than five.
func TestRestoreBasicStaysWithinFive(t *testing.T) {
	t.Parallel()
	ro, wo := cttypes.ReadWriteTypeReadOnly, cttypes.ReadWriteTypeWriteOnly
	four := []cttypes.EventSelector{data(ro, "arn:aws:s3:::a/"), data(wo, "arn:aws:s3:::b/"), data(ro, "arn:aws:s3:::c/"), data(wo, "arn:aws:s3:::d/")}
	fix, _ := Restore(Selectors{Basic: four})
	if len(fix.Basic) != 5 || fix.Basic[4].ReadWriteType != cttypes.ReadWriteTypeAll || len(fix.Basic[4].DataResources) != 0 {
		t.Fatalf("four selectors: %+v", fix.Basic)
	}
	for i := range four {
		if aws.ToString(fix.Basic[i].DataResources[0].Type) == "" || fix.Basic[i].DataResources[0].Values[0] != four[i].DataResources[0].Values[0] {
			t.Fatalf("data selector %d changed: %+v", i, fix.Basic[i])
		}
	}
	// Five, one of them All: it takes the management events on, data kept.
	five := append(slices.Clone(four), data(cttypes.ReadWriteTypeAll, "arn:aws:s3:::e/"))
	fix, _ = Restore(Selectors{Basic: five})
	if len(fix.Basic) != 5 || !aws.ToBool(fix.Basic[4].IncludeManagementEvents) || fix.Basic[4].DataResources[0].Values[0] != "arn:aws:s3:::e/" {
		t.Fatalf("five with an All: %+v", fix.Basic)
	}
	if aws.ToBool(five[4].IncludeManagementEvents) {
		t.Fatal("Restore changed its input")
	}
	// Five without All: the two first ReadOnly selectors merge.
	five = append(slices.Clone(four), data(ro, "arn:aws:s3:::a/", "arn:aws:s3:::e/"))
	fix, _ = Restore(Selectors{Basic: five})
	if len(fix.Basic) != 5 || !RecordsAllManagement(fix) {
		t.Fatalf("five without All: %+v", fix.Basic)
	}
	if got := fix.Basic[0].DataResources[0].Values; strings.Join(got, ",") != "arn:aws:s3:::a/,arn:aws:s3:::c/" {
		t.Fatalf("merged values = %v", got)
	}
	if _, err := Restore(Selectors{Basic: append(five, data(ro))}); err == nil {
		t.Fatal("six selectors accepted")
	}
	if Valid(Selectors{Basic: append(five, data(ro))}) == nil || Valid(Selectors{Basic: four, Advanced: []cttypes.AdvancedEventSelector{s3Data}}) == nil {
		t.Fatal("Valid accepts what AWS refuses")
	}
}

func TestRestoreAdvancedReplacesNarrowedManagement(t *testing.T) {
	t.Parallel()
	narrowed := adv(equals("eventCategory", "Management"), equals("readOnly", "true"))
	narrowed.Name = aws.String("mgmt reads")
	fix, _ := Restore(Selectors{Advanced: []cttypes.AdvancedEventSelector{s3Data, narrowed, adv(equals("eventCategory", "Management"), notEquals("eventSource", "kms.amazonaws.com"))}})
	if len(fix.Advanced) != 2 || aws.ToString(fix.Advanced[0].FieldSelectors[1].Field) != "resources.type" {
		t.Fatalf("fix = %+v", fix.Advanced)
	}
	m := fix.Advanced[1]
	if aws.ToString(m.Name) != "mgmt reads" || len(m.FieldSelectors) != 1 || m.FieldSelectors[0].Equals[0] != "Management" {
		t.Fatalf("management selector = %+v", m)
	}
	fix, _ = Restore(Selectors{Advanced: []cttypes.AdvancedEventSelector{s3Data}})
	if len(fix.Advanced) != 2 || aws.ToString(fix.Advanced[1].Name) != ManagementSelectorName {
		t.Fatalf("data only: %+v", fix.Advanced)
	}
}

// A selector that takes management events in part is widened in place when
// its data events stay as they were; one with data and ReadOnly is not.
func TestRestoreWidensInPlace(t *testing.T) {
	t.Parallel()
	fix, _ := Restore(Selectors{Basic: []cttypes.EventSelector{basic(cttypes.ReadWriteTypeWriteOnly, aws.Bool(true), "kms.amazonaws.com")}})
	if len(fix.Basic) != 1 || fix.Basic[0].ReadWriteType != cttypes.ReadWriteTypeAll || len(fix.Basic[0].ExcludeManagementEventSources) != 0 {
		t.Fatalf("fix = %+v", fix.Basic)
	}
	withData := data(cttypes.ReadWriteTypeReadOnly, "arn:aws:s3:::b/")
	withData.IncludeManagementEvents = aws.Bool(true)
	fix, _ = Restore(Selectors{Basic: []cttypes.EventSelector{withData}})
	if len(fix.Basic) != 2 || fix.Basic[0].ReadWriteType != cttypes.ReadWriteTypeReadOnly {
		t.Fatalf("fix = %+v", fix.Basic)
	}
}
