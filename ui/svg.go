package ui

import (
	"fmt"
	"sort"
	"time"
)

// The pictures are laid out here and drawn by the templates as inline SVG: no
// script is needed to see them, and a screenshot shows them as they are.

// dagPicture is a job's stages as boxes in columns by depth (a stage's column is
// one past its deepest parent's), with arrows from parents to children.
type dagPicture struct {
	W, H  int
	Boxes []dagBox
	Edges []dagEdge
}

type dagBox struct {
	X, Y, W, H    int
	ID            int
	Label, Status string
	Tasks         string
	Link          string
}

type dagEdge struct{ X1, Y1, X2, Y2 int }

func layoutDAG(stages []JobStage) dagPicture {
	const boxW, boxH, gapX, gapY, pad = 190, 46, 60, 16, 10
	index := map[int]int{}
	for i, s := range stages {
		index[s.ID] = i
	}
	depth := make([]int, len(stages))
	seen := make([]int, len(stages)) // 0 unvisited, 1 visiting, 2 done
	var visit func(i int) int
	visit = func(i int) int {
		switch seen[i] {
		case 1:
			return 0 // a cycle cannot come from the compiler; draw it flat
		case 2:
			return depth[i]
		}
		seen[i] = 1
		d := 0
		for _, p := range stages[i].Parents {
			if j, ok := index[p]; ok {
				d = max(d, visit(j)+1)
			}
		}
		depth[i], seen[i] = d, 2
		return d
	}
	rows := map[int]int{}
	var pic dagPicture
	pos := make([][2]int, len(stages))
	for i, s := range stages {
		d := visit(i)
		r := rows[d]
		rows[d]++
		x, y := pad+d*(boxW+gapX), pad+r*(boxH+gapY)
		pos[i] = [2]int{x, y}
		label := s.Name
		if len(label) > 28 {
			label = label[:27] + "…"
		}
		link := ""
		if s.Retained {
			link = fmt.Sprintf("stage?id=%d&attempt=%d", s.ID, s.Attempt)
		}
		pic.Boxes = append(pic.Boxes, dagBox{X: x, Y: y, W: boxW, H: boxH, ID: s.ID, Label: label, Status: s.Status,
			Tasks: fmt.Sprintf("%d/%d tasks", s.Done, s.NumTasks), Link: link})
		pic.W = max(pic.W, x+boxW+pad)
		pic.H = max(pic.H, y+boxH+pad)
	}
	for i, s := range stages {
		for _, p := range s.Parents {
			j, ok := index[p]
			if !ok {
				continue
			}
			pic.Edges = append(pic.Edges, dagEdge{X1: pos[j][0] + boxW, Y1: pos[j][1] + boxH/2, X2: pos[i][0] - 2, Y2: pos[i][1] + boxH/2})
		}
	}
	return pic
}

// timelinePicture shows the executors as lanes, one row per slot, with their tasks
// as bars over time, and the jobs above them.
type timelinePicture struct {
	W, H, Left, Right int
	Jobs              []timelineBar
	Lanes             []timelineLane
	Bars              []timelineBar
	Marks             []timelineMark
	Ticks             []timelineTick
}

type timelineLane struct {
	Y, H  int
	Label string
}

type timelineBar struct {
	X, Y, W, H int
	Class      string
	Stage      int
	Title      string
	Label      string
	Link       string
}

type timelineMark struct {
	X, Y1, Y2 int
	Title     string
}

type timelineTick struct {
	X     int
	Label string
}

func layoutTimeline(app App, jobs []JobView, execs []Executor, tasks []StageTask, now time.Time) timelinePicture {
	const left, width, rowH, jobH, top = 130, 900, 9, 18, 22
	t0, t1 := app.Started, app.Ended
	if t1.IsZero() {
		t1 = now
	}
	for _, j := range jobs {
		if t0.IsZero() || j.Submitted.Before(t0) {
			t0 = j.Submitted
		}
	}
	for _, x := range execs {
		if t0.IsZero() || x.Added.Before(t0) {
			t0 = x.Added
		}
	}
	if !t1.After(t0) {
		t1 = t0.Add(time.Second)
	}
	span := t1.Sub(t0)
	xOf := func(t time.Time) int {
		if t.IsZero() || t.After(t1) {
			t = t1
		}
		if t.Before(t0) {
			t = t0
		}
		return left + int(float64(width)*float64(t.Sub(t0))/float64(span))
	}
	pic := timelinePicture{W: left + width + 20, Left: left, Right: left + width}
	// Jobs, in one row above the lanes.
	for _, j := range jobs {
		x1, x2 := xOf(j.Submitted), xOf(j.Completed)
		pic.Jobs = append(pic.Jobs, timelineBar{X: x1, Y: top, W: max(x2-x1, 2), H: jobH - 4, Class: "job",
			Title: fmt.Sprintf("job %d %s: %s, %s", j.ID, j.Name, j.Status, formatDuration(j.Duration(now))),
			Label: fmt.Sprintf("job %d", j.ID), Link: fmt.Sprintf("job?id=%d", j.ID)})
	}
	y := top + jobH + 6
	byExec := map[string][]StageTask{}
	for _, t := range tasks {
		byExec[t.Executor] = append(byExec[t.Executor], t)
	}
	for _, x := range execs {
		ts := byExec[x.ID]
		sort.Slice(ts, func(i, k int) bool { return ts[i].Launched.Before(ts[k].Launched) })
		// Each task takes the first row free at its launch: rows are the executor's slots.
		var rowEnd []time.Time
		rows := make([]int, len(ts))
		for i, t := range ts {
			r := 0
			for ; r < len(rowEnd); r++ {
				if !rowEnd[r].After(t.Launched) {
					break
				}
			}
			end := t.Finished
			if end.IsZero() {
				end = t1
			}
			if r == len(rowEnd) {
				rowEnd = append(rowEnd, end)
			} else {
				rowEnd[r] = end
			}
			rows[i] = r
		}
		n := max(len(rowEnd), x.Cores, 1)
		h := n*rowH + 4
		label := "executor " + x.ID
		if x.Host != "" {
			label += " · " + x.Host
		}
		pic.Lanes = append(pic.Lanes, timelineLane{Y: y, H: h, Label: label})
		for i, t := range ts {
			x1, x2 := xOf(t.Launched), xOf(t.Finished)
			pic.Bars = append(pic.Bars, timelineBar{X: x1, Y: y + 2 + rows[i]*rowH, W: max(x2-x1, 1), H: rowH - 2,
				Class: "t-" + t.Status, Stage: t.Stage,
				Title: fmt.Sprintf("task %d: stage %d.%d partition %d, %s, %s", t.ID, t.Stage, t.StageAttempt, t.Partition, t.Status,
					formatDuration(durationOf(t.Task, t1)))})
		}
		pic.Marks = append(pic.Marks, timelineMark{X: xOf(x.Added), Y1: y, Y2: y + h, Title: "executor " + x.ID + " added " + formatTime(x.Added)})
		if !x.Removed.IsZero() {
			pic.Marks = append(pic.Marks, timelineMark{X: xOf(x.Removed), Y1: y, Y2: y + h, Title: "executor " + x.ID + " removed: " + x.Reason})
		}
		y += h + 4
	}
	pic.H = y + 20
	for i := 0; i <= 5; i++ {
		at := time.Duration(float64(span) * float64(i) / 5)
		pic.Ticks = append(pic.Ticks, timelineTick{X: left + width*i/5, Label: "+" + formatDuration(at)})
	}
	return pic
}

func durationOf(t Task, now time.Time) time.Duration {
	if t.Metrics.DurationMs > 0 {
		return time.Duration(t.Metrics.DurationMs) * time.Millisecond
	}
	end := t.Finished
	if end.IsZero() {
		end = now
	}
	return end.Sub(t.Launched)
}
