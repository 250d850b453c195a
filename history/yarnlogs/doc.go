// Package yarnlogs reads YARN containers' logs the way `yarn logs` does, without
// Hadoop's Java classes: a finished application's from the aggregated log files
// the NodeManagers uploaded to HDFS (yarn.nodemanager.remote-app-log-dir, in
// Hadoop's TFile format, read here), and a running one's from the NodeManagers'
// web services (/ws/v1/node/...).
//
// Only the TFile format is read; Hadoop's other format, IndexedFormat
// (LogAggregationIndexedFileController), keeps its index as a serialized Java
// object, and a log directory in it is reported as such.
package yarnlogs
