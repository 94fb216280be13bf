// SPDX-License-Identifier: GPL-2.0
//! The writer on images with fragments and LZ4: tails in the fewest
//! fragments, shared blocks, growth and truncation moving tails, blocks
//! compressed only when that saves a fragment, directories growing by
//! fragments; a random model run with fsck (decompressing) after every
//! operation.

use toyfs_format::address::Extent;
use toyfs_format::check::check_with;
use toyfs_format::constants::ROOT_INO;
use toyfs_format::features::Features;
use toyfs_format::{Filesystem, FsError, MemoryDevice};

mod support;

use support::{empty_with, noise, NOW};

fn image(block_size: u32, block_count: u32, features: Features) -> Filesystem<MemoryDevice> {
    let device = empty_with(block_size, block_count, 256, features);
    Filesystem::open(device, NOW).unwrap()
}

fn assert_clean(fs: &mut Filesystem<MemoryDevice>, what: &str) {
    fs.flush().unwrap();
    let report = check_with(fs.device(), true).unwrap();
    assert_eq!(report.findings, [], "{what}");
}

fn run(fs: &Filesystem<MemoryDevice>, ino: u32, file_block: u64) -> Extent {
    let inode = fs.read_inode(ino).unwrap();
    fs.map_extent(ino, &inode, file_block).unwrap().unwrap()
}

/// Text that LZ4 halves, different for every `seed`.
fn text(seed: u32, len: usize) -> Vec<u8> {
    let words = ["fragment ", "tail ", "block ", "toyfs ", "vm_mvc ", "\n"];
    let mut state = seed.wrapping_mul(2_654_435_761) | 1;
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        out.extend_from_slice(words[state as usize % words.len()].as_bytes());
    }
    out.truncate(len);
    out
}

#[test]
fn tails_take_the_fewest_fragments_and_share_blocks() {
    let mut fs = image(4096, 256, Features::fragments(512));
    let sizes = [100u64, 1000, 1500];
    let mut files = Vec::new();
    for (index, &size) in sizes.iter().enumerate() {
        let name = format!("f{index}");
        let ino = fs.create(ROOT_INO, name.as_bytes(), 0o644).unwrap();
        fs.write(ino, 0, &noise(index as u32, size as usize))
            .unwrap();
        files.push(ino);
    }
    let runs: Vec<Extent> = files.iter().map(|&ino| run(&fs, ino, 0)).collect();
    assert_eq!(
        runs.iter().map(|run| run.count).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let geometry = *fs.geometry();
    assert!(
        runs.iter()
            .all(|run| run.block(&geometry) == runs[0].block(&geometry)),
        "three tails of 6 fragments share one block: {runs:?}"
    );
    assert_eq!(fs.read_inode(files[2]).unwrap().blocks, 3);
    assert_clean(&mut fs, "three tails");
    for (index, &ino) in files.iter().enumerate() {
        assert_eq!(
            fs.read(ino, 0, 4096).unwrap(),
            noise(index as u32, sizes[index] as usize)
        );
    }
}

#[test]
fn growing_moves_the_tail_to_more_fragments_then_to_a_whole_block() {
    let mut fs = image(4096, 256, Features::fragments(1024));
    let ino = fs.create(ROOT_INO, b"grows", 0o644).unwrap();
    let data = noise(7, 9000);
    let mut expected_counts = Vec::new();
    for end in (500..=9000).step_by(500) {
        fs.write(ino, end - 500, &data[end as usize - 500..end as usize])
            .unwrap();
        assert_clean(&mut fs, &format!("grown to {end}"));
        let last = (end - 1) / 4096;
        expected_counts.push((run(&fs, ino, last).count, (end % 4096).div_ceil(1024)));
        if last > 0 {
            assert!(run(&fs, ino, last - 1).is_whole_block(fs.geometry()));
        }
    }
    for (count, fewest) in expected_counts {
        assert_eq!(count, if fewest == 0 { 4 } else { fewest as u32 });
    }
    assert_eq!(fs.read(ino, 0, 10_000).unwrap(), data);
    // Truncating up makes the old tail whole; down makes a new tail.
    fs.truncate(ino, 20_000).unwrap();
    assert_clean(&mut fs, "truncated up");
    assert!(run(&fs, ino, 2).is_whole_block(fs.geometry()));
    fs.truncate(ino, 4096 + 10).unwrap();
    assert_clean(&mut fs, "truncated down");
    assert_eq!(run(&fs, ino, 1).count, 1);
    assert_eq!(fs.read_inode(ino).unwrap().blocks, 5);
    let mut expected = data[..4106].to_vec();
    expected.resize(4106, 0);
    assert_eq!(fs.read(ino, 0, 10_000).unwrap(), expected);
}

#[test]
fn blocks_compress_only_when_that_saves_a_fragment() {
    let mut fs = image(4096, 256, Features::compressed(512));
    let text_file = fs.create(ROOT_INO, b"text", 0o644).unwrap();
    fs.write(text_file, 0, &text(1, 10_000)).unwrap();
    let noise_file = fs.create(ROOT_INO, b"noise", 0o644).unwrap();
    fs.write(noise_file, 0, &noise(2, 10_000)).unwrap();
    assert_clean(&mut fs, "text and noise");
    for file_block in 0..3 {
        let text_run = run(&fs, text_file, file_block);
        let plain = if file_block < 2 { 8 } else { 4 };
        assert!(text_run.compressed, "text block {file_block}");
        assert!(text_run.count < plain, "{text_run:?}");
        let noise_run = run(&fs, noise_file, file_block);
        assert!(!noise_run.compressed, "noise block {file_block}");
    }
    assert_eq!(run(&fs, noise_file, 2).count, 4, "1808 bytes: 4 fragments");
    assert_eq!(fs.read(text_file, 0, 20_000).unwrap(), text(1, 10_000));
    assert_eq!(fs.read(noise_file, 0, 20_000).unwrap(), noise(2, 10_000));
    // chattr -c: what is stored from now on is plain; chattr +c again.
    fs.set_compressed(text_file, false).unwrap();
    fs.write(text_file, 0, b"rewritten").unwrap();
    assert!(!run(&fs, text_file, 0).compressed);
    assert!(run(&fs, text_file, 1).compressed, "untouched blocks stay");
    fs.set_compressed(text_file, true).unwrap();
    fs.write(text_file, 4096, b"again").unwrap();
    assert!(run(&fs, text_file, 1).compressed);
    assert_clean(&mut fs, "switched");
    let mut expected = text(1, 10_000);
    expected[..9].copy_from_slice(b"rewritten");
    expected[4096..4101].copy_from_slice(b"again");
    assert_eq!(fs.read(text_file, 0, 20_000).unwrap(), expected);
    // Without LZ4 there is nothing to switch on.
    let mut plain = image(4096, 64, Features::fragments(512));
    let ino = plain.create(ROOT_INO, b"f", 0o644).unwrap();
    assert!(matches!(
        plain.set_compressed(ino, true),
        Err(FsError::NoCompression)
    ));
    assert_eq!(plain.read_inode(ino).unwrap().flags, 0);
}

#[test]
fn directories_grow_by_fragments_and_only_the_last_block_is_partial() {
    let mut fs = image(4096, 256, Features::fragments(512));
    let dir = fs.mkdir(ROOT_INO, b"dir", 0o755).unwrap();
    assert_eq!(fs.read_inode(dir).unwrap().size, 512);
    let mut sizes = Vec::new();
    for index in 0..200 {
        let name = format!("a-rather-long-file-name-for-growth-{index:03}");
        fs.create(dir, name.as_bytes(), 0o644).unwrap();
        sizes.push(fs.read_inode(dir).unwrap().size);
    }
    assert_clean(&mut fs, "200 entries");
    assert!(sizes.iter().all(|size| size % 512 == 0));
    assert!(sizes.windows(2).all(|pair| pair[1] - pair[0] <= 4096));
    let last = *sizes.last().unwrap();
    assert!(last > 4096 * 2, "{last}");
    for index in [0, 99, 199] {
        let name = format!("a-rather-long-file-name-for-growth-{index:03}");
        assert!(fs.lookup(dir, name.as_bytes()).unwrap().is_some());
    }
    // A name longer than the room left in the last block pads that block
    // to whole and starts the next one.
    let fs_geometry = *fs.geometry();
    let blocks = fs.read_inode(dir).unwrap().blocks_within_size(4096);
    for file_block in 0..blocks - 1 {
        assert!(run(&fs, dir, file_block).is_whole_block(&fs_geometry));
    }
}

#[test]
fn a_full_image_refuses_and_stays_clean() {
    let mut fs = image(4096, 16, Features::compressed(512));
    let ino = fs.create(ROOT_INO, b"big", 0o644).unwrap();
    fs.set_compressed(ino, false).unwrap();
    let mut offset = 0;
    loop {
        match fs.write(ino, offset, &noise(offset as u32, 1000)) {
            Ok(()) => offset += 1000,
            Err(FsError::NoSpace) => break,
            Err(error) => panic!("{error}"),
        }
    }
    assert_clean(&mut fs, "full");
    let small = fs.create(ROOT_INO, b"small", 0o644).unwrap();
    let _ = fs.write(small, 0, &noise(9, 300));
    assert_clean(&mut fs, "full, then a tail");
}

/// Random writes, truncates and compression switches on three files
/// against a model, fsck after every step, at several geometries.
#[test]
fn random_operations_match_the_model_and_stay_clean() {
    let configurations = [
        (4096, Features::compressed(512)),
        (4096, Features::fragments(1024)),
        (4096, Features::fragments(4096)),
        (1024, Features::compressed(128)),
        (512, Features::compressed(64)),
        (2048, Features::compressed(1024)),
    ];
    for (block_size, features) in configurations {
        let mut fs = image(block_size, 1024 * 1024 / block_size, features);
        let files: Vec<u32> = (0..3)
            .map(|index| {
                fs.create(ROOT_INO, format!("f{index}").as_bytes(), 0o644)
                    .unwrap()
            })
            .collect();
        let mut models = vec![Vec::<u8>::new(); 3];
        let mut state = 0x9e37_79b9u32;
        let mut next = |bound: u32| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state % bound
        };
        for step in 0..150 {
            let which = next(3) as usize;
            let ino = files[which];
            let model = &mut models[which];
            let what = match next(10) {
                0..6 => {
                    let offset = u64::from(next(40_000));
                    let len = 1 + next(6000) as usize;
                    let data = if next(2) == 0 {
                        text(step, len)
                    } else {
                        noise(step, len)
                    };
                    fs.write(ino, offset, &data).unwrap();
                    let end = offset as usize + len;
                    if model.len() < end {
                        model.resize(end, 0);
                    }
                    model[offset as usize..end].copy_from_slice(&data);
                    format!("write {offset}+{len}")
                }
                6..9 => {
                    let size = next(45_000) as usize;
                    fs.truncate(ino, size as u64).unwrap();
                    model.resize(size, 0);
                    format!("truncate {size}")
                }
                _ => {
                    let on = next(2) == 0 && fs.geometry().has_compression();
                    fs.set_compressed(ino, on).unwrap();
                    format!("compress {on}")
                }
            };
            let what = format!("{block_size}/{features:?} step {step} file {which}: {what}");
            assert_clean(&mut fs, &what);
            assert!(fs.read(ino, 0, usize::MAX).unwrap() == *model, "{what}");
        }
    }
}
