package graph

import (
	"bytes"
	"strings"
)

// Lenient decoders of the complex properties of workflows and runs
// (quarantineDetails, activatedOnScope): like the j* types of decode.go, they never
// fail; a value that is not the documented shape is kept aside as a flaw and the
// property left nil.

// jQuarantine is a workflow's quarantineDetails.
type jQuarantine struct {
	QuarantinedDateTime jTime   `json:"quarantinedDateTime"`
	QuarantineReason    jString `json:"quarantineReason"`
	QuarantineType      jString `json:"quarantineType"`
	present             bool
	object              []byte // the object as received, for QuarantineDetails.Raw
	flaw
}

func (j *jQuarantine) UnmarshalJSON(b []byte) error {
	type fields jQuarantine // without this method
	if f, ok := unmarshalPresent[fields](b, &j.flaw, "not an object"); ok {
		*j = jQuarantine(f)
		j.present = true
		j.object = bytes.Clone(b) // b belongs to the decoder
	}
	return nil
}

func (d *itemDecoder) quarantine(j jQuarantine) *QuarantineDetails {
	if j.raw != nil {
		d.warn("quarantineDetails", j.flaw)
	}
	if !j.present {
		return nil
	}
	q := &QuarantineDetails{
		QuarantinedDateTime: d.time("quarantineDetails.quarantinedDateTime", j.QuarantinedDateTime),
		QuarantineReason:    d.string("quarantineDetails.quarantineReason", j.QuarantineReason),
		QuarantineType:      d.string("quarantineDetails.quarantineType", j.QuarantineType),
		Raw:                 j.object,
	}
	if q.QuarantineType == "" {
		// Required by the schema: without it the state is unknown, not "not quarantined".
		d.warn("quarantineDetails", flaw{raw: []byte("{…}"), why: "no quarantineType"})
		return nil
	}
	return q
}

// jRef is an entity reference: only its id is read.
type jRef struct {
	ID jString `json:"id"`
}

// jScope is a run's activatedOnScope.
type jScope struct {
	Type              jString `json:"@odata.type"`
	TaskScope         jString `json:"taskScope"`
	UserScope         jString `json:"userScope"`
	ProcessingResults []jRef  `json:"processingResults"`
	Run               *jRef   `json:"run"`
	Users             []jRef  `json:"users"`
	present           bool
	flaw
}

func (j *jScope) UnmarshalJSON(b []byte) error {
	type fields jScope // without this method
	if f, ok := unmarshalPresent[fields](b, &j.flaw, "not an activation scope"); ok {
		*j = jScope(f)
		j.present = true
	}
	return nil
}

func (d *itemDecoder) scope(j jScope) *ActivationScope {
	if j.raw != nil {
		d.warn("activatedOnScope", j.flaw)
	}
	if !j.present {
		return nil
	}
	typ := d.string("activatedOnScope.@odata.type", j.Type)
	if typ == "" {
		d.warn("activatedOnScope", flaw{raw: []byte("{…}"), why: "no @odata.type"})
		return nil
	}
	s := &ActivationScope{
		Kind:      strings.TrimPrefix(strings.TrimPrefix(typ, "#"), scopeNamespace),
		TaskScope: d.string("activatedOnScope.taskScope", j.TaskScope),
		UserScope: d.string("activatedOnScope.userScope", j.UserScope),
	}
	s.ProcessingResultIDs = d.refIDs("activatedOnScope.processingResults", j.ProcessingResults)
	s.UserIDs = d.refIDs("activatedOnScope.users", j.Users)
	if j.Run != nil {
		s.RunID = d.string("activatedOnScope.run.id", j.Run.ID)
	}
	return s
}

// refIDs returns the ids of references, skipping those without one.
func (d *itemDecoder) refIDs(prop string, refs []jRef) []string {
	var ids []string
	for _, r := range refs {
		if id := d.string(prop+".id", r.ID); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}
