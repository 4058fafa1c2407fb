package tenant

import (
	"context"
	"slices"
)

// Names returns the names of the tenants with the given ids (id → name),
// with one query, for pages and views that show a tenant by name rather
// than by its id. An id without a tenant is absent from the map.
func (s *Store) Names(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []Tenant
	if err := s.db.WithContext(ctx).Select("id, name").Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, t := range rows {
		out[t.ID] = t.Name
	}
	return out, nil
}

// All returns every tenant, by name, for a filter that offers them.
func (s *Store) All(ctx context.Context) ([]Tenant, error) {
	var rows []Tenant
	err := s.db.WithContext(ctx).Order("name").Find(&rows).Error
	return rows, err
}
