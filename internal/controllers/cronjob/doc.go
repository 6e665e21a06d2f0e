// Package cronjob is the cronjob controller: it creates a Job named
// <cronjob>-<scheduled time in minutes> at each scheduled time (honouring
// concurrencyPolicy, startingDeadlineSeconds and suspend), tracks active
// Jobs and lastScheduleTime/lastSuccessfulTime in status and deletes
// finished Jobs beyond the history limits, as upstream's
// pkg/controller/cronjob (the v2 controller).
package cronjob
