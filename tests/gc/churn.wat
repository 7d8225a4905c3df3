(module
  (type $bytes (array (mut i8)))
  (type $cell (struct (field $payload (ref $bytes)) (field $next (ref null $cell))))
  (type $tree (struct (field $left (ref null $tree)) (field $right (ref null $tree))
                      (field $payload (ref $bytes))))
  (type $refs (array (mut (ref null $bytes))))

  ;; A list of $length cells, each holding a fresh $size-byte array whose first byte is the
  ;; cell's index; returns the sum of those bytes read back.
  (func $list (param $length i32) (param $size i32) (result i64)
    (local $list (ref null $cell))
    (local $i i32)
    (local $sum i64)
    (loop $cells
      (local.set $list
        (struct.new $cell (array.new $bytes (local.get $i) (local.get $size)) (local.get $list)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $cells (i32.lt_u (local.get $i) (local.get $length))))
    (block $done
      (loop $walk
        (br_if $done (ref.is_null (local.get $list)))
        (local.set $sum
          (i64.add (local.get $sum)
            (i64.extend_i32_u
              (array.get_u $bytes (struct.get $cell $payload (local.get $list)) (i32.const 0)))))
        (local.set $list (struct.get $cell $next (local.get $list)))
        (br $walk)))
    (local.get $sum))

  ;; A full tree of depth $depth whose nodes hold $size-byte arrays.
  (func $tree (param $depth i32) (param $size i32) (result (ref $tree))
    (if (result (ref $tree)) (i32.eqz (local.get $depth))
      (then (struct.new $tree (ref.null $tree) (ref.null $tree)
              (array.new $bytes (i32.const 1) (local.get $size))))
      (else (struct.new $tree
              (call $tree (i32.sub (local.get $depth) (i32.const 1)) (local.get $size))
              (call $tree (i32.sub (local.get $depth) (i32.const 1)) (local.get $size))
              (array.new $bytes (i32.const 1) (local.get $size))))))

  (func $count (param $t (ref null $tree)) (result i64)
    (if (result i64) (ref.is_null (local.get $t))
      (then (i64.const 0))
      (else (i64.add
              (i64.extend_i32_u
                (array.get_u $bytes (struct.get $tree $payload (local.get $t)) (i32.const 0)))
              (i64.add (call $count (struct.get $tree $left (local.get $t)))
                       (call $count (struct.get $tree $right (local.get $t))))))))

  ;; An array of $length references to fresh $size-byte arrays, every one filled with 2.
  (func $refs (param $length i32) (param $size i32) (result i64)
    (local $refs (ref $refs))
    (local $i i32)
    (local $sum i64)
    (local.set $refs (array.new_default $refs (local.get $length)))
    (loop $fill
      (array.set $refs (local.get $refs) (local.get $i)
        (array.new $bytes (i32.const 2) (local.get $size)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (local.get $length))))
    (local.set $i (i32.const 0))
    (loop $read
      (local.set $sum
        (i64.add (local.get $sum)
          (i64.extend_i32_u
            (array.get_u $bytes (array.get $refs (local.get $refs) (local.get $i))
              (i32.sub (local.get $size) (i32.const 1))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $read (i32.lt_u (local.get $i) (local.get $length))))
    (local.get $sum))

  ;; $rounds rounds, each allocating a list of 1,000 cells, a tree of depth 9 and an array of
  ;; 1,000 references, every object carrying a $size-byte array; each round's objects die
  ;; at its end. Returns the sum of every checked byte.
  (func (export "churn") (param $rounds i32) (param $size i32) (result i64)
    (local $sum i64)
    (local $i i32)
    (loop $round
      (local.set $sum (i64.add (local.get $sum) (call $list (i32.const 1000) (local.get $size))))
      (local.set $sum
        (i64.add (local.get $sum) (call $count (call $tree (i32.const 9) (local.get $size)))))
      (local.set $sum (i64.add (local.get $sum) (call $refs (i32.const 1000) (local.get $size))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $round (i32.lt_u (local.get $i) (local.get $rounds))))
    (local.get $sum)))
