// Package frame is Spindle's columnar engine: named, typed columns in Apache Arrow
// record batches, run by the same scheduler and shuffle as the row path.
//
// A frame's logical plan (Plan) is data: column names, expressions, aggregate
// functions and input splits, encoded as JSON. The root package builds plans; Compile
// turns one into engine nodes whose compute functions return batch sequences (Seq),
// with shuffle dependencies whose records are whole batches (Arrow IPC streams),
// partitioned by a hash of the key columns or by ranges of sort keys. Because the plan
// is data, a driver ships it to executors as the argument of a build, and they
// compile the same nodes from it without any registered builder.
//
//	Plan ──Compile──► scan (Parquet row groups | CSV splits) ─► project/filter ─►
//	    partial hash aggregate ─► shuffle(batches by key hash) ─► final aggregate ─►
//	    sort | join | limit ─► result (collect, count, save as Parquet or CSV)
//
// Operators that hold data (aggregation, sort, join) account it with the task's
// share of execution memory and spill to local files when refused, as the row path's
// shuffle writer does: a partial aggregate flushes its groups into the shuffle early,
// a final aggregate and a join spread their data over hash buckets on disk and finish
// one bucket at a time, and a sort writes sorted runs and merges them.
package frame
