package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/surge-commerce/surge/internal/store"
)

// saleCollector exports every flash sale's units left, queue length and
// admission rate, read from the store at scrape time (sales are few).
type saleCollector struct {
	st                      *store.Store
	unitsLeft, queue, admit *prometheus.Desc
}

func newSaleCollector(st *store.Store) *saleCollector {
	labels := []string{"shop", "sku"}
	return &saleCollector{
		st:        st,
		unitsLeft: prometheus.NewDesc("surge_sale_units_left", "Units of a flash-sale SKU still available.", labels, nil),
		queue:     prometheus.NewDesc("surge_sale_queue_length", "Buyers who joined a flash sale's waiting room.", labels, nil),
		admit:     prometheus.NewDesc("surge_sale_admission_rate", "Waiting-room admissions per second (0: no waiting room).", labels, nil),
	}
}

func (c *saleCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.unitsLeft
	ch <- c.queue
	ch <- c.admit
}

func (c *saleCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	sales, err := c.st.SaleStats(ctx)
	if err != nil {
		return // a scrape during a database outage shows no sales rather than failing
	}
	for _, s := range sales {
		ch <- prometheus.MustNewConstMetric(c.unitsLeft, prometheus.GaugeValue, float64(s.UnitsLeft), s.Shop, s.SKU)
		ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(s.Queue), s.Shop, s.SKU)
		ch <- prometheus.MustNewConstMetric(c.admit, prometheus.GaugeValue, float64(s.AdmissionRate), s.Shop, s.SKU)
	}
}
