// SPDX-License-Identifier: GPL-2.0
//! fsck.toyfs on every named damage of toyfs-damage (the images the
//! corrupted-image guest test mounts): it must exit 4 and name the
//! damage.

use std::fs;
use std::process::Command;

use toyfs_damage::image::{Image, Source};
use toyfs_damage::named::{find, DAMAGES};

const FSCK: &str = env!("CARGO_BIN_EXE_fsck-toyfs");

fn fsck(bytes: &[u8], label: &str) -> (i32, String) {
    let path = std::env::temp_dir().join(format!(
        "toyfs-fsck-damage-{}-{label}.img",
        std::process::id()
    ));
    fs::write(&path, bytes).unwrap();
    // -f: compressed blocks are decompressed too.
    let output = Command::new(FSCK).arg("-f").arg(&path).output().unwrap();
    let _ = fs::remove_file(&path);
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().unwrap(), text)
}

#[test]
fn the_source_images_are_clean() {
    for source in Source::ALL {
        let (status, report) = fsck(source.make().unwrap().bytes(), source.name());
        assert_eq!(status, 0, "{}: {report}", source.name());
    }
}

fn check_named(name: &str) {
    let damage = find(name).unwrap();
    let mut image = Image::new(damage.source.make().unwrap()).unwrap();
    let what = damage.apply(&mut image).unwrap();
    let (status, report) = fsck(image.device.bytes(), damage.name);
    assert_eq!(status, 4, "{name}: {what}\n{report}");
    assert!(
        report.contains(damage.fsck_says),
        "{name}: {what}: fsck does not say {:?}:\n{report}",
        damage.fsck_says
    );
}

/// One test per named damage, named after it.
macro_rules! named_damages {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check_named(stringify!($name));
            }
        )*

        #[test]
        fn every_named_damage_has_its_test() {
            let tested = [$(stringify!($name)),*];
            for damage in DAMAGES {
                assert!(tested.contains(&damage.name), "no test for {}", damage.name);
            }
        }
    };
}

named_damages!(
    bad_magic,
    bad_checksum,
    layout_field_differs,
    device_smaller_than_filesystem,
    free_count_too_large,
    pointer_out_of_range,
    pointer_into_bitmap,
    pointer_into_inode_table,
    indirect_entry_out_of_range,
    indirect_entry_into_metadata,
    pointer_to_free_block,
    used_block_marked_free,
    pointer_to_another_files_block,
    metadata_bit_clear,
    indirect_names_itself,
    indirect_names_its_parent,
    size_beyond_block_map,
    triple_indirect_without_feature,
    block_past_eof,
    preallocated_block_not_zero,
    directory_size_not_block_multiple,
    directory_size_past_its_blocks,
    entry_names_free_inode,
    entry_inode_out_of_range,
    entry_rec_len_unaligned,
    entry_rec_len_past_block,
    entry_name_with_slash,
    directory_names_its_ancestor,
    directory_without_dotdot,
    bad_inode_mode,
    symlink_without_feature,
    device_with_blocks,
    zero_link_count,
    link_count_too_low,
    blocks_count_too_large,
    unknown_feature,
    fragment_size_invalid,
    fragment_run_crosses_block,
    fragment_owned_twice,
    fragment_lost,
    tail_fragment_marked_free,
    tail_in_too_few_fragments,
    partial_block_before_the_last,
    compressed_length_past_run,
    compressed_length_zero,
    compressed_data_truncated,
    compressed_length_differs,
    compressed_directory_block,
    indirect_not_whole_block,
    packed_tail_behind_damaged_indirect,
    packed_tail_past_its_block,
    tail_block_without_magic,
    tail_block_count_too_high,
    tail_block_count_too_low,
    packed_tails_overlap,
    tail_block_named_twice,
    compressed_tail_corrupt,
    compressed_tail_length_differs,
    compressed_tail_without_feature,
    compressed_flag_on_directory,
    root_not_a_directory,
);
