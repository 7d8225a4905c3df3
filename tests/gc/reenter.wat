(module
  (type $bytes (array (mut i8)))
  (type $cell (struct (field $value i32) (field $payload (ref $bytes))
                      (field $next (ref null $cell))))

  ;; The host function: calls `outer` again (one level down) and `churn`, so collections
  ;; run while this module's frames wait in every enclosing call.
  (import "host" "reenter" (func $reenter (param i32)))

  ;; A list of $length cells (values 1 to $length, each with a 1 KiB array whose bytes are
  ;; the value's low byte), held only by this frame across the call to the host; returns
  ;; the sum of the values and of the arrays' last bytes read back afterwards.
  (func (export "outer") (param $length i32) (param $depth i32) (result i64)
    (local $list (ref null $cell))
    (local $i i32)
    (local $sum i64)
    (loop $cells
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (local.set $list
        (struct.new $cell (local.get $i) (array.new $bytes (local.get $i) (i32.const 1024))
          (local.get $list)))
      (br_if $cells (i32.lt_u (local.get $i) (local.get $length))))
    (call $reenter (local.get $depth))
    (block $done
      (loop $walk
        (br_if $done (ref.is_null (local.get $list)))
        (local.set $sum
          (i64.add (local.get $sum)
            (i64.add
              (i64.extend_i32_u (struct.get $cell $value (local.get $list)))
              (i64.extend_i32_u
                (array.get_u $bytes (struct.get $cell $payload (local.get $list))
                  (i32.const 1023))))))
        (local.set $list (struct.get $cell $next (local.get $list)))
        (br $walk)))
    (local.get $sum))

  ;; $rounds arrays of 64 KiB, each garbage at once.
  (func (export "churn") (param $rounds i32)
    (loop $again
      (drop (array.new_default $bytes (i32.const 65536)))
      (local.set $rounds (i32.sub (local.get $rounds) (i32.const 1)))
      (br_if $again (i32.gt_s (local.get $rounds) (i32.const 0))))))
