package scheduler

// mapOutputs tracks where every shuffle's map outputs live. It outlives jobs, so a
// later job that reads an already computed shuffle skips its map stage.
type mapOutputs struct {
	shuffles map[int]*shuffleOutputs
}

type shuffleOutputs struct {
	maps      []*MapStatus // nil where the output is missing
	available int
}

func newMapOutputs() *mapOutputs { return &mapOutputs{shuffles: map[int]*shuffleOutputs{}} }

// register makes sure a shuffle with numMaps map partitions is tracked. A shuffle
// re-registered with another width starts over: its old outputs cannot be read as
// the new one's.
func (m *mapOutputs) register(shuffleID, numMaps int) {
	if s := m.shuffles[shuffleID]; s != nil && len(s.maps) == numMaps {
		return
	}
	m.shuffles[shuffleID] = &shuffleOutputs{maps: make([]*MapStatus, numMaps)}
}

func (m *mapOutputs) complete(shuffleID int) bool {
	s := m.shuffles[shuffleID]
	return s != nil && s.available == len(s.maps)
}

func (m *mapOutputs) add(shuffleID, mapPart int, st MapStatus) {
	s := m.shuffles[shuffleID]
	if s == nil || mapPart < 0 || mapPart >= len(s.maps) {
		return
	}
	if s.maps[mapPart] == nil {
		s.available++
	}
	s.maps[mapPart] = &st
}

// remove drops one map output; executor, when set, must match the output's so that
// a stale fetch failure does not drop a recomputed output.
func (m *mapOutputs) remove(shuffleID, mapPart int, executor string) bool {
	s := m.shuffles[shuffleID]
	if s == nil || mapPart < 0 || mapPart >= len(s.maps) || s.maps[mapPart] == nil {
		return false
	}
	if executor != "" && s.maps[mapPart].Executor != executor {
		return false
	}
	s.maps[mapPart] = nil
	s.available--
	return true
}

// removeExecutor drops every output held by an executor.
func (m *mapOutputs) removeExecutor(executor string) {
	for _, s := range m.shuffles {
		for i, st := range s.maps {
			if st != nil && st.Executor == executor {
				s.maps[i] = nil
				s.available--
			}
		}
	}
}

// removeAddr drops every output served from addr (a shuffle service that is gone).
func (m *mapOutputs) removeAddr(addr string) {
	for _, s := range m.shuffles {
		for i, st := range s.maps {
			if st != nil && st.Addr == addr {
				s.maps[i] = nil
				s.available--
			}
		}
	}
}

// missing lists the map partitions of a shuffle that have no output.
func (m *mapOutputs) missing(shuffleID int) []int {
	s := m.shuffles[shuffleID]
	if s == nil {
		return nil
	}
	var out []int
	for i, st := range s.maps {
		if st == nil {
			out = append(out, i)
		}
	}
	return out
}

// input snapshots a complete shuffle's outputs for the tasks that read it.
func (m *mapOutputs) input(shuffleID int) ShuffleInput {
	s := m.shuffles[shuffleID]
	in := ShuffleInput{ShuffleID: shuffleID, Maps: make([]MapStatus, len(s.maps))}
	for i, st := range s.maps {
		if st != nil {
			in.Maps[i] = *st
		}
	}
	return in
}
