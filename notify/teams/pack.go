package teams

import (
	"strings"
	"unicode/utf8"
)

// Packing lays what a batch says out in cards within Teams' size limit: parts (one
// notification's lines, or one workflow of a digest) under the heading of their
// workflow, as many to a card as fit; a part larger than a card spills over several,
// its heading repeated. Nothing is dropped or cut short.

// maxActions bounds a card's OpenUrl buttons; Teams shows a handful before "more".
const maxActions = 5

// cardReserve is kept in every card for its title and context line.
const cardReserve = 1200

// part is what one notification (or one digest workflow) adds to a card.
type part struct {
	item   int
	wf     string // the workflow's id: parts of the same one share a heading
	head   []element
	action *action
	blocks []element
}

// packed is a batch's cards and the notifications they carry.
type packed struct {
	items []int
	cards [][]byte
}

// packer fills cards. title and footer make a card's first and last lines from the
// items it carries; continued says the card continues a part spilled from the one
// before.
type packer struct {
	budget int
	title  func(items []int, continued bool) element
	footer func(items []int) element
}

// draft is a card being filled.
type draft struct {
	body      []element
	actions   []action
	items     []int
	used      int
	workflow  string
	continued bool
}

func (p *packer) newDraft(continued bool) *draft {
	return &draft{continued: continued, used: cardReserve + len(encode(card{}))}
}

// need is what pt adds to d: its heading when d is under another workflow, its button
// while d has room for one, and its blocks.
func (d *draft) need(pt *part) int {
	n := 0
	if d.workflow != pt.wf || len(d.body) == 0 {
		for _, h := range pt.head {
			n += size(h)
		}
		if pt.action != nil && len(d.actions) < maxActions && !d.hasAction(pt.action) {
			n += actionSize(*pt.action)
		}
	}
	for _, b := range pt.blocks {
		n += size(b)
	}
	return n
}

func (d *draft) add(pt *part) {
	d.used += d.need(pt)
	if d.workflow != pt.wf || len(d.body) == 0 {
		d.body = append(d.body, pt.head...)
		if pt.action != nil && len(d.actions) < maxActions && !d.hasAction(pt.action) {
			d.actions = append(d.actions, *pt.action)
		}
		d.workflow = pt.wf
	}
	d.body = append(d.body, pt.blocks...)
	d.items = append(d.items, pt.item)
}

func (d *draft) hasAction(a *action) bool {
	for _, x := range d.actions {
		if x.URL == a.URL {
			return true
		}
	}
	return false
}

func (p *packer) finish(d *draft, items []int) []byte {
	body := make([]element, 0, len(d.body)+2)
	body = append(body, p.title(items, d.continued))
	body = append(body, d.body...)
	body = append(body, p.footer(items))
	return encode(card{Body: body, Actions: d.actions})
}

// pack lays parts out, in order, in as few cards as fit.
func (p *packer) pack(parts []part) []packed {
	var out []packed
	d := p.newDraft(false)
	flush := func() {
		if len(d.items) > 0 {
			out = append(out, packed{items: d.items, cards: [][]byte{p.finish(d, d.items)}})
		}
		d = p.newDraft(false)
	}
	for i := range parts {
		pt := &parts[i]
		if d.used+d.need(pt) <= p.budget {
			d.add(pt)
			continue
		}
		flush()
		if d.used+d.need(pt) <= p.budget {
			d.add(pt)
			continue
		}
		out = append(out, p.spill(pt))
	}
	flush()
	return out
}

// spill lays one part too large for a card over as many as it takes, the heading again
// on each.
func (p *packer) spill(pt *part) packed {
	sp := packed{items: []int{pt.item}}
	items := []int{pt.item}
	d := p.newDraft(false)
	start := func() {
		d.add(&part{item: pt.item, wf: pt.wf, head: pt.head, action: pt.action})
		d.items = nil
	}
	start()
	for _, b := range pt.blocks {
		if n := size(b); d.used+n > p.budget && len(d.body) > len(pt.head) {
			sp.cards = append(sp.cards, p.finish(d, items))
			d = p.newDraft(true)
			start()
		}
		d.body = append(d.body, b)
		d.used += size(b)
	}
	sp.cards = append(sp.cards, p.finish(d, items))
	return sp
}

func actionSize(a action) int { return len(encode(card{Actions: []action{a}})) - len(encode(card{})) }

// blocks puts lines in TextBlocks of at most limit bytes each; a line longer than limit
// is split at spaces. Within a block, items of a "- " list are joined by "\n", which
// Teams documents for lists, and other lines by "\n\n", a paragraph break, since a
// single "\n" in Markdown only continues the paragraph.
func blocks(lines []string, limit int, spacing string) []element {
	var out []element
	var cur strings.Builder
	prevItem := false
	flush := func() {
		if cur.Len() > 0 {
			e := text(cur.String())
			e.Spacing = spacing
			out = append(out, e)
			cur.Reset()
		}
	}
	for _, l := range lines {
		for _, piece := range splitText(l, limit) {
			item := strings.HasPrefix(piece, "- ")
			sep := "\n\n"
			if item && prevItem {
				sep = "\n"
			}
			if cur.Len() > 0 && cur.Len()+len(sep)+len(piece) > limit {
				flush()
			}
			if cur.Len() > 0 {
				cur.WriteString(sep)
			}
			cur.WriteString(piece)
			prevItem = item
		}
	}
	flush()
	return out
}

// splitText cuts s into pieces of at most limit bytes, at a space where there is one in
// the last fifth, never inside a character.
func splitText(s string, limit int) []string {
	var parts []string
	for len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		if sp := strings.LastIndexByte(s[:cut], ' '); sp > cut*4/5 {
			cut = sp
		}
		if cut == 0 {
			_, cut = utf8.DecodeRuneInString(s)
		}
		parts = append(parts, strings.TrimRight(s[:cut], " "))
		s = strings.TrimLeft(s[cut:], " ")
	}
	return append(parts, s)
}
