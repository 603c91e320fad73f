package schema

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// DecodeMsgpack implements msgpack.CustomDecoder: it reads a PublishItem
// map field by field, without reflection, because publishers send tens of
// thousands a second. It takes what the reflective decoder took: keys are
// the JSON names, unknown keys are skipped, nil leaves a field zero, whole
// numbers are taken for prices; anything else is an error naming the key.
// Data is decoded as Options values are (looseValue), never allocating for
// a count its bytes do not hold.
func (it *PublishItem) DecodeMsgpack(d *msgpack.Decoder) error {
	n, err := d.DecodeMapLen()
	if err != nil {
		return fmt.Errorf("publish item: want a map: %w", err)
	}
	for range n { // n is -1 for nil: no fields
		key, err := d.DecodeString()
		if err != nil {
			return fmt.Errorf("publish item: a key: %w", err)
		}
		switch key {
		case "room":
			it.Room, err = d.DecodeString()
		case "topic":
			it.Topic, err = d.DecodeString()
		case "type":
			it.Type, err = d.DecodeString()
		case "symbol":
			it.Symbol, err = d.DecodeString()
		case "ts":
			it.Ts, err = d.DecodeInt64()
		case "price":
			it.Price, err = d.DecodeFloat64()
		case "size":
			it.Size, err = d.DecodeInt64()
		case "bid":
			it.Bid, err = d.DecodeFloat64()
		case "ask":
			it.Ask, err = d.DecodeFloat64()
		case "bid_size":
			it.BidSize, err = d.DecodeInt64()
		case "ask_size":
			it.AskSize, err = d.DecodeInt64()
		case "data":
			it.Data, err = looseValue(d) // bounded by the bytes present
		default:
			err = d.Skip()
		}
		if err != nil {
			return fmt.Errorf("publish item: field %q: %w", key, err)
		}
	}
	return nil
}
