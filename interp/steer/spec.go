package steer

import (
	"fmt"

	"github.com/alignlab/alignlab/interp"
	"github.com/alignlab/alignlab/model"
)

// Spec steers with one direction at one or more hook points: it adds
// Scale times the direction, or, with Ablate, projects the direction out.
type Spec struct {
	// Direction carries the vector; its Hook (where it was found) is where
	// it applies unless Hooks says otherwise.
	Direction *interp.Direction
	// Hooks are the points to apply it at, e.g. AtLayers([]int{1, 2},
	// "hook_resid_post"); nil means Direction.Hook. Each must have the
	// vector's width.
	Hooks []string
	// Scale multiplies the vector when adding (ignored with Ablate).
	Scale float32
	// Unit adds Scale times the unit vector rather than the vector as
	// saved, so that Scale is a length in activation space.
	Unit bool
	// Ablate projects the direction out (x -= (x·u)u) instead of adding.
	Ablate bool
	// Positions restricts the edit to these positions of each sequence
	// (nil: every position).
	Positions []int
}

// Points returns the hook points s applies at.
func (s Spec) Points() []string {
	if s.Hooks != nil {
		return s.Hooks
	}
	if s.Direction == nil {
		return nil
	}
	return []string{s.Direction.Hook}
}

// Apply registers s on h for a model of cfg, after checking that every
// point exists and has the vector's width.
func (s Spec) Apply(h *model.Hooks, cfg model.Config) error {
	if s.Direction == nil || len(s.Direction.Vector) == 0 {
		return fmt.Errorf("steer: no direction")
	}
	points := s.Points()
	if len(points) == 0 {
		return fmt.Errorf("steer: no hook points")
	}
	vec := s.Direction.Vector
	if s.Unit && !s.Ablate {
		u, err := s.Direction.Unit()
		if err != nil {
			return fmt.Errorf("steer: %w", err)
		}
		vec = u
	}
	for _, p := range points {
		w, err := Width(cfg, p)
		if err != nil {
			return err
		}
		if w != len(vec) {
			return fmt.Errorf("steer: direction has %d values but %s rows have %d; use a direction found at a point of that width", len(vec), p, w)
		}
	}
	for _, p := range points {
		var err error
		if s.Ablate {
			err = ProjectOutAt(h, p, vec, s.Positions)
		} else {
			err = Add(h, p, vec, s.Scale, s.Positions)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// NewHooks returns hooks with every spec applied for a model of cfg.
func NewHooks(cfg model.Config, specs ...Spec) (*model.Hooks, error) {
	h := model.NewHooks()
	for _, s := range specs {
		if err := s.Apply(h, cfg); err != nil {
			return nil, err
		}
	}
	return h, nil
}
