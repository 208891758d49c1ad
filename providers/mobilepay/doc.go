// Package mobilepay implements Ankara's provider for the MobilePay Invoice
// API (Denmark, Finland) and a simulator of it. See the full package
// documentation below (written with the tests).
package mobilepay
